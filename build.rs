//! Generates the ONNX messages (`src/onnx/proto.rs` includes them) from ONNX's own message
//! definitions, `proto/onnx.proto`, with prost; protox parses the file, so no `protoc` is needed.

fn main() {
    println!("cargo:rerun-if-changed=proto/onnx.proto");
    let descriptors =
        protox::compile(["onnx.proto"], ["proto"]).expect("proto/onnx.proto compiles");
    prost_build::Config::new()
        .compile_fds(descriptors)
        .expect("prost generates the ONNX messages");
}
