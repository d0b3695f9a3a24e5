//! Image metadata from any bytes: the first byte picks which file of a valid OCI layout
//! (index.json, the manifest, the config) or docker-archive (manifest.json) the rest
//! replaces; the resolver must refuse or accept it without a panic.
#![no_main]

use std::io::Cursor;

use dive_core::{AnalyzerBuilder, Source};
use libfuzzer_sys::fuzz_target;

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, bytes) in files {
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        let size = format!("{:011o}", bytes.len());
        header[124..135].copy_from_slice(size.as_bytes());
        header[136..147].copy_from_slice(b"00000000000");
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(bytes);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

const LAYER_DIGEST: &str =
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";
const CONFIG_DIGEST: &str =
    "sha256:c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0";
const MANIFEST_DIGEST: &str =
    "sha256:abababababababababababababababababababababababababababababababab";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, fuzzed)) = data.split_first() else {
        return;
    };
    let layer = [0u8; 1024];
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"]}}"#;
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{CONFIG_DIGEST}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{LAYER_DIGEST}","size":1024}}]}}"#,
        config.len()
    );
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{MANIFEST_DIGEST}","size":{}}}]}}"#,
        manifest.len()
    );
    let blob = |digest: &str| format!("blobs/sha256/{}", &digest[7..]);
    let (layer_path, config_path, manifest_path) = (
        blob(LAYER_DIGEST),
        blob(CONFIG_DIGEST),
        blob(MANIFEST_DIGEST),
    );
    let bytes = match pick % 4 {
        0 => tar_of(&[
            ("index.json", fuzzed),
            (&manifest_path, manifest.as_bytes()),
            (&config_path, config),
            (&layer_path, &layer),
        ]),
        1 => tar_of(&[
            ("index.json", index.as_bytes()),
            (&manifest_path, fuzzed),
            (&config_path, config),
            (&layer_path, &layer),
        ]),
        2 => tar_of(&[
            ("index.json", index.as_bytes()),
            (&manifest_path, manifest.as_bytes()),
            (&config_path, fuzzed),
            (&layer_path, &layer),
        ]),
        _ => tar_of(&[
            ("manifest.json", fuzzed),
            ("config.json", config),
            ("layer.tar", &layer),
        ]),
    };
    let analyzer = AnalyzerBuilder::new().threads(1).build();
    let _ = analyzer.analyze(Source::reader("-", Cursor::new(bytes)), &());
});
