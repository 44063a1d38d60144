//! Package documents: manifest, files manifest, signature envelope.
