//! Compiles `proto/` without needing `protoc`: protox parses the files,
//! tonic-prost-build generates code from the descriptor set, and the encoded
//! descriptor set is kept for server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        "allot/common/v1/common.proto",
        "allot/identity/v1/identity.proto",
        "allot/team/v1/team.proto",
        "allot/entitlement/v1/entitlement.proto",
        "allot/notification/v1/notification.proto",
    ];
    let fds = protox::compile(files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("allot_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
