//! The choice between WebGPU and the CPU worker.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

use mnist_gan_web::path::{AdapterInfo, ComputePath, GpuProbe, PathPreference, choose_path};

fn adapter(architecture: &str, description: &str, is_fallback: bool) -> GpuProbe {
    GpuProbe::Adapter(AdapterInfo {
        vendor: "vendor".into(),
        architecture: architecture.into(),
        description: description.into(),
        is_fallback,
    })
}

#[test]
fn automatic_choice_gives_webgpu_only_to_hardware_adapters() {
    let auto = |probe| choose_path(&probe, PathPreference::Auto);
    assert_eq!(auto(adapter("ampere", "", false)).path, ComputePath::WebGpu);
    for software in [
        adapter("swiftshader", "", false),
        adapter("", "SwiftShader Device (Subzero)", false),
        adapter("", "llvmpipe (LLVM 15.0.6, 256 bits)", false),
        adapter("ampere", "", true),
    ] {
        let choice = auto(software.clone());
        assert_eq!(choice.path, ComputePath::Cpu, "{software:?}");
        assert!(
            choice.reason.contains("runs on the CPU"),
            "{}",
            choice.reason
        );
    }
    let missing = auto(GpuProbe::Missing);
    assert_eq!(missing.path, ComputePath::Cpu);
    assert!(missing.reason.contains("does not offer WebGPU"));
    assert_eq!(auto(GpuProbe::NoAdapter).path, ComputePath::Cpu);
    let failed = auto(GpuProbe::Failed("lost".into()));
    assert_eq!(failed.path, ComputePath::Cpu);
    assert!(failed.reason.contains("lost"));
}

#[test]
fn only_swiftshader_takes_the_register_tiled_product() {
    let info = |probe| match probe {
        GpuProbe::Adapter(info) => info,
        _ => unreachable!(),
    };
    for swiftshader in [
        adapter("swiftshader", "", false),
        adapter("", "SwiftShader Device (Subzero)", true),
    ] {
        assert!(info(swiftshader).is_swiftshader());
    }
    for other in [
        adapter("", "llvmpipe (LLVM 15.0.6, 256 bits)", false),
        adapter("ampere", "", false),
        adapter("ampere", "", true),
    ] {
        assert!(!info(other.clone()).is_swiftshader(), "{other:?}");
    }
}

#[test]
fn the_user_may_force_a_path_where_it_can_run() {
    let gpu = PathPreference::Force(ComputePath::WebGpu);
    let cpu = PathPreference::Force(ComputePath::Cpu);
    assert_eq!(
        choose_path(&adapter("swiftshader", "", true), gpu).path,
        ComputePath::WebGpu
    );
    assert_eq!(
        choose_path(&adapter("ampere", "", false), cpu).path,
        ComputePath::Cpu
    );
    let impossible = choose_path(&GpuProbe::Missing, gpu);
    assert_eq!(impossible.path, ComputePath::Cpu);
    assert!(impossible.reason.starts_with("WebGPU was asked for"));
}

#[test]
fn preferences_parse_from_their_names() {
    for preference in [
        PathPreference::Auto,
        PathPreference::Force(ComputePath::WebGpu),
        PathPreference::Force(ComputePath::Cpu),
    ] {
        assert_eq!(PathPreference::parse(preference.name()), Some(preference));
    }
    assert_eq!(
        PathPreference::parse(" CPU "),
        Some(PathPreference::Force(ComputePath::Cpu))
    );
    assert_eq!(PathPreference::parse("tpu"), None);
}

#[test]
fn adapter_summary_names_software_adapters() {
    let GpuProbe::Adapter(info) = adapter("swiftshader", "", false) else {
        unreachable!()
    };
    assert_eq!(info.summary(), "vendor · swiftshader (software)");
    assert_eq!(AdapterInfo::default().summary(), "unnamed adapter");
}
