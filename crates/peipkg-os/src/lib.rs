//! The operating-system layer of the workspace: every system call the
//! three programs make beyond what the standard library offers, and the
//! only crate allowed `unsafe` code (the others `#![forbid(unsafe_code)]`).
//!
//! The calls live in one place because each is easy to get subtly wrong (a
//! pid signalled after it was reused, a followed link, a signal handler
//! that allocates) and two copies drift: the build and the manager once had
//! a child supervisor each, avoiding PID reuse in different ways, and two
//! signal mechanisms. Each module holds one concern, and every `unsafe`
//! block in it says why it is sound:
//!
//! - [`process`], children in their own process group, supervised to a
//!   deadline or a stop, killed as a group without PID-reuse races;
//!   signalling processes that are not our children.
//! - [`signals`], receiving signals (through `signal-hook`).
//! - [`limits`], `setrlimit` values a child takes on before exec.
//! - [`lock`], the `flock` that keeps one writer per state.
//! - [`rename`], the atomic exchange of two trees (`renameat2`).
//! - [`sync`], `syncfs`.
//! - [`files`], a removal that never follows links; FIFOs.
//! - [`copy`], copying a tree someone may be changing, never following a
//!   link.
//! - [`which`], finding a program on `PATH`.
//! - [`usage`], resource use of a child (`wait4`) or of this process.
//! - [`memory`], how the C allocator returns freed memory.

pub mod copy;
pub mod files;
pub mod limits;
pub mod lock;
pub mod memory;
pub mod process;
pub mod rename;
pub mod signals;
pub mod sync;
pub mod usage;
pub mod which;

pub use copy::copy_tree_nofollow;
pub use files::remove_all;
pub use lock::flock_until;
pub use rename::exchange;
