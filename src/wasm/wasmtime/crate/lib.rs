// Re-exported so that rustc keeps every C API symbol in the static library.
pub use wasmtime_c_api::*;
