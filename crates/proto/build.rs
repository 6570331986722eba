//! Compiles the protobuf contract in `proto/` at the workspace root into Rust, with no system `protoc`: `protox`
//! parses the `.proto` files into a descriptor set (it ships the `google/protobuf/*.proto` well-known types) and
//! `prost-build` generates code from it into `OUT_DIR`, included by `src/lib.rs`.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    let mut proto_files = Vec::new();
    collect_proto_files(&proto_root, &mut proto_files)?;
    proto_files.sort();

    println!("cargo:rerun-if-changed={}", proto_root.display());
    for file in &proto_files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let descriptors = protox::compile(&proto_files, [&proto_root])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}

/// Every `.proto` file under `directory`, at any depth.
fn collect_proto_files(directory: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(directory)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_proto_files(&path, found)?;
        } else if path.extension().is_some_and(|extension| extension == "proto") {
            found.push(path);
        }
    }
    Ok(())
}
