//! Images from composes (issue 15): Pungi's DVD ISOs checked by checkisomd5, xorriso and
//! productmd, their content installed from by dnf; `raw`, `qcow2` and `oci` images checked by
//! e2fsck, debugfs, qemu-img, skopeo and rpm, their SPDX SBOMs by spdx-tools; a failing
//! install; `boot.iso` refused, or made by the configured command and stopped by a DELETE.

use std::collections::BTreeSet;

use sha2::Digest;

use super::*;

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (tests/run.sh installs the tools)"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn sha256_hex(p: &Path) -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

/// Every directory and file below `dir` as `/<path>`.
fn listing(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = format!("{rel}/{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                stack.push((e.path(), p.clone()));
            }
            out.insert(p);
        }
    }
    out
}

/// productmd's view of `compose/metadata/images.json` and of a tree's `.treeinfo`.
fn productmd_images(compose_dir: &Path, treeinfo: &Path) -> Option<Value> {
    let bin = support::venv_bin()?;
    let script = r#"
import json, sys
from productmd.images import Images
from productmd.treeinfo import TreeInfo
im = Images(); im.load(sys.argv[1] + "/metadata/images.json")
out = {}
for variant, arches in im.images.items():
    for arch, imgs in arches.items():
        out.setdefault(arch, []).extend(sorted(
            [{"arch": i.arch, "type": i.type, "format": i.format, "path": i.path, "size": i.size,
              "volume_id": i.volume_id, "implant_md5": i.implant_md5, "sha256": i.checksums["sha256"],
              "bootable": i.bootable, "subvariant": i.subvariant, "disc": [i.disc_number, i.disc_count]}
             for i in imgs], key=lambda x: x["path"]))
ti = TreeInfo(); ti.load(sys.argv[2])
print(json.dumps({"images": out, "treeinfo": {"arch": ti.tree.arch, "release": ti.release.name,
      "variants": sorted(ti.variants.variants), "packages": ti.variants["Temporary"].paths.packages}}))
"#;
    let (ok, out) = run(Command::new(bin.join("python"))
        .arg("-c")
        .arg(script)
        .arg(compose_dir)
        .arg(treeinfo));
    assert!(ok, "productmd: {out}");
    Some(serde_json::from_str(out.lines().last().unwrap()).unwrap())
}

/// Checks one ISO with the real tools; returns the volume id xorriso reads.
fn check_iso(iso: &Path, tree: &Path) -> String {
    let (ok, out) = run(Command::new("checkisomd5").arg(iso));
    assert!(ok, "checkisomd5 {}: {out}", iso.display());
    // xorriso lists exactly the tree's files, and the manifest says the same.
    let (ok, out) = run(Command::new("xorriso")
        .args(["-indev"])
        .arg(iso)
        .args(["-find", "/"]));
    assert!(ok, "{out}");
    let on_disc: BTreeSet<String> = out
        .lines()
        .filter(|l| l.starts_with('\''))
        .map(|l| l.trim_matches('\'').to_string())
        .filter(|p| p != "/")
        .collect();
    assert_eq!(on_disc, listing(tree), "the ISO holds the tree");
    let manifest = std::fs::read_to_string(format!("{}.manifest", iso.display())).unwrap();
    let lines: Vec<&str> = manifest.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "the manifest is sorted");
    assert_eq!(
        lines.iter().map(|l| l.to_string()).collect::<BTreeSet<_>>(),
        on_disc
    );
    assert!(lines.contains(&"/.treeinfo") && lines.contains(&"/repodata/repomd.xml"));
    // BSD-style checksums beside it and in the directory.
    let name = iso.file_name().unwrap().to_string_lossy().into_owned();
    let size = std::fs::metadata(iso).unwrap().len();
    let sums = format!(
        "# {name}: {size} bytes\nSHA256 ({name}) = {}\n",
        sha256_hex(iso)
    );
    assert_eq!(
        std::fs::read_to_string(format!("{}.SHA256SUM", iso.display())).unwrap(),
        sums
    );
    assert_eq!(
        std::fs::read_to_string(iso.parent().unwrap().join("SHA256SUM")).unwrap(),
        sums
    );
    let (ok, out) = run(Command::new("xorriso")
        .arg("-indev")
        .arg(iso)
        .arg("-pvd_info"));
    assert!(ok, "{out}");
    out.lines()
        .find_map(|l| l.strip_prefix("Volume Id    : "))
        .unwrap_or_else(|| panic!("no volume id: {out}"))
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iso_result_makes_pungis_dvd_isos_that_dnf_installs_from() {
    let e = env().await;
    let c = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools"]},
               "results": ["repository", "iso"]}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(c["results"], json!(["repository", "iso"]));
    let id = c["id"].as_i64().unwrap();
    let cid = c["pungi_compose_id"].as_str().unwrap().to_string();
    let compose_dir = tree(&e.app, id).join("compose");
    let variant = compose_dir.join("Temporary");
    let iso = variant.join(format!("x86_64/iso/{cid}-Temporary-x86_64-dvd1.iso"));
    let src_iso = variant.join(format!("source/iso/{cid}-Temporary-source-dvd1.iso"));
    assert_eq!(
        check_iso(&iso, &variant.join("x86_64/os")),
        format!("odcs-{id}-1 Temporary.x86_64")
    );
    assert_eq!(
        check_iso(&src_iso, &variant.join("source/tree")),
        format!("odcs-{id}-1 Temporary.src")
    );
    // Both ISOs were started with their packages during the tree phase and finished on the
    // whole tree: an ISO whose tree differs from the one expected is written again in full,
    // and the compose's log says so.
    let log = std::fs::read_to_string(tree(&e.app, id).join("pungi-stderr.log")).unwrap();
    assert!(log.contains("createiso"), "{log}");
    assert!(!log.contains("written again in full"), "{log}");
    // The trees' media files (pungi.md §5.5).
    let discinfo = std::fs::read_to_string(variant.join("x86_64/os/.discinfo")).unwrap();
    let lines: Vec<&str> = discinfo.lines().collect();
    assert_eq!(
        lines[1..],
        [format!("odcs-{id} 1").as_str(), "x86_64", "ALL"]
    );
    assert!(lines[0].parse::<f64>().is_ok(), "{discinfo}");
    let media = std::fs::read_to_string(variant.join("source/tree/media.repo")).unwrap();
    assert!(media.starts_with(&format!("[InstallMedia]\nname=odcs-{id} 1\nmediaid=")));
    assert!(media.contains("\nmetadata_expire=-1\ngpgcheck=0\ncost=500\n"));
    // composeinfo names the ISO directories.
    let ci: Value = serde_json::from_str(
        &std::fs::read_to_string(compose_dir.join("metadata/composeinfo.json")).unwrap(),
    )
    .unwrap();
    let paths = &ci["payload"]["variants"]["Temporary"]["paths"];
    assert_eq!(paths["isos"], json!({"x86_64": "Temporary/x86_64/iso"}));
    assert_eq!(
        paths["source_isos"],
        json!({"x86_64": "Temporary/source/iso"})
    );
    // images.json as Pungi writes it: both ISOs under the binary arch, keys in order.
    let raw = std::fs::read_to_string(compose_dir.join("metadata/images.json")).unwrap();
    let doc: Value = serde_json::from_str(&raw).unwrap();
    let list = doc["payload"]["images"]["Temporary"]["x86_64"]
        .as_array()
        .unwrap();
    assert_eq!(list.len(), 2);
    let keys: Vec<&str> = list[1]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "arch",
            "bootable",
            "checksums",
            "disc_count",
            "disc_number",
            "format",
            "implant_md5",
            "mtime",
            "path",
            "size",
            "subvariant",
            "type",
            "volume_id"
        ]
    );
    if let Some(v) = productmd_images(&compose_dir, &variant.join("x86_64/os/.treeinfo")) {
        let imgs = v["images"]["x86_64"].as_array().unwrap();
        let want = |arch: &str, p: &Path, volid: String| {
            json!({"arch": arch, "type": "dvd", "format": "iso", "bootable": false,
                   "subvariant": "Temporary", "disc": [1, 1],
                   "path": p.strip_prefix(&compose_dir).unwrap().to_string_lossy(),
                   "size": std::fs::metadata(p).unwrap().len(), "sha256": sha256_hex(p),
                   "volume_id": volid,
                   "implant_md5": run(Command::new("checkisomd5").arg("--md5sumonly").arg(p)).1
                        .split_whitespace().nth(1).unwrap()})
        };
        assert_eq!(
            imgs,
            &vec![
                want("src", &src_iso, format!("odcs-{id}-1 Temporary.src")),
                want("x86_64", &iso, format!("odcs-{id}-1 Temporary.x86_64")),
            ]
        );
        assert_eq!(
            v["treeinfo"],
            json!({"arch": "x86_64", "release": format!("odcs-{id}"), "variants": ["Temporary"], "packages": "Packages"})
        );
    }
    // The ISO's content, extracted by xorriso, is a repository dnf installs from.
    let out_dir = tempfile::tempdir().unwrap();
    let (ok, out) = run(Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(&iso)
        .args(["-extract", "/"])
        .arg(out_dir.path().join("dvd")));
    assert!(ok, "{out}");
    let url = format!("file://{}", out_dir.path().join("dvd").display());
    let (ok, out) = tokio::task::spawn_blocking(move || {
        dnf(&[
            &format!("--repofrompath=dvd,{url}"),
            "--repo=dvd",
            "install",
            "acme-tools",
        ])
    })
    .await
    .unwrap();
    assert!(ok && out.contains("acme-tools-1.0-1.fc40.x86_64"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_compose_with_iso_reaches_done_with_both_isos() {
    // The other writer (xorriso + implantisomd5) passes the same checks as the native one.
    let e = env_with(|s| s.engine.iso_writer = "xorriso".into()).await;
    let c = compose(
        &e.app,
        json!({"source": {"type": "build", "builds": ["acme-data-2.0-1.fc40"]}, "results": ["iso"]}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    let id = c["id"].as_i64().unwrap();
    let cid = c["pungi_compose_id"].as_str().unwrap().to_string();
    let variant = tree(&e.app, id).join("compose/Temporary");
    for (iso, dir) in [
        (
            format!("x86_64/iso/{cid}-Temporary-x86_64-dvd1.iso"),
            "x86_64/os",
        ),
        (
            format!("source/iso/{cid}-Temporary-source-dvd1.iso"),
            "source/tree",
        ),
    ] {
        check_iso(&variant.join(iso), &variant.join(dir));
    }
    assert!(
        variant
            .join("x86_64/os/Packages/a/acme-data-2.0-1.fc40.noarch.rpm")
            .exists()
    );
}

/// The NEVRAs rpm lists in `root`, sorted.
fn rpm_qa(root: &Path) -> Vec<String> {
    let (ok, out) = run(Command::new("rpm").arg("--root").arg(root).args([
        "-qa",
        "--qf",
        "%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n",
    ]));
    assert!(ok, "{out}");
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_qcow2_and_oci_images_hold_the_installed_packages_with_manifests() {
    let e = env().await;
    let c = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools"]},
               "results": ["raw", "qcow2", "oci"], "label": "Alpha-1.0"}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    assert_eq!(c["results"], json!(["repository", "raw", "qcow2", "oci"]));
    let id = c["id"].as_i64().unwrap();
    let cid = c["pungi_compose_id"].as_str().unwrap().to_string();
    let top = tree(&e.app, id);
    let compose_dir = top.join("compose");
    let images = compose_dir.join("Temporary/x86_64/images");
    let base = images.join(format!("{cid}-Temporary-x86_64"));
    let raw = PathBuf::from(format!("{}.raw", base.display()));
    let qcow2 = PathBuf::from(format!("{}.qcow2", base.display()));
    let oci = PathBuf::from(format!("{}.ociarchive", base.display()));
    assert!(
        !top.join("work/x86_64/image").exists(),
        "the install root is not published"
    );

    // The manifest: exactly what dnf installed (acme-tools and its closure).
    let manifest = std::fs::read_to_string(format!("{}.manifest", raw.display())).unwrap();
    let nevras: Vec<String> = manifest.lines().map(str::to_string).collect();
    assert_eq!(
        nevras,
        [
            "acme-beta-0:1.0-1.fc40.noarch",
            "acme-data-0:2.0-1.fc40.noarch",
            "acme-tools-0:1.0-1.fc40.x86_64",
            "libacme-0:1.1-1.fc40.x86_64"
        ]
    );

    // raw: e2fsck accepts it, debugfs shows the installed files.
    let (ok, out) = run(Command::new("e2fsck").arg("-fn").arg(&raw));
    assert!(ok, "e2fsck: {out}");
    let (ok, out) = run(Command::new("debugfs")
        .args(["-R", "ls -l /usr/bin"])
        .arg(&raw));
    assert!(ok && out.contains("acme"), "debugfs ls: {out}");
    let (ok, out) = run(Command::new("debugfs")
        .args(["-R", "cat /usr/bin/acme"])
        .arg(&raw));
    assert!(ok && out.contains("acme-tools /usr/bin/acme"), "{out}");
    // qcow2: qemu-img reads and checks it.
    let (ok, out) = run(Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(&qcow2));
    assert!(ok, "{out}");
    let info: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["format"], "qcow2");
    assert_eq!(
        info["virtual-size"].as_u64().unwrap(),
        std::fs::metadata(&raw).unwrap().len()
    );
    let (ok, out) = run(Command::new("qemu-img").arg("check").arg(&qcow2));
    assert!(ok, "qemu-img check: {out}");

    // oci: skopeo reads the archive; its layer holds the files and the rpm database.
    let (ok, out) = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}", oci.display())));
    assert!(ok, "skopeo inspect: {out}");
    let inspect: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(inspect["Labels"]["io.composed.compose.id"], id.to_string());
    assert_eq!(inspect["Labels"]["io.composed.compose.label"], "Alpha-1.0");
    assert_eq!(inspect["Labels"]["org.opencontainers.image.version"], cid);
    let work = tempfile::tempdir().unwrap();
    let copied = work.path().join("dir");
    let (ok, out) = run(Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci-archive:{}", oci.display()))
        .arg(format!("dir:{}", copied.display())));
    assert!(ok, "skopeo copy: {out}");
    let layer = inspect["Layers"][0]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    let (ok, out) = run(Command::new("tar")
        .arg("-xzf")
        .arg(copied.join(&layer))
        .arg("-C")
        .arg(&rootfs));
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("usr/bin/acme")).unwrap(),
        "acme-tools /usr/bin/acme\n"
    );
    assert_eq!(
        rpm_qa(&rootfs),
        nevras,
        "the manifest is what the image's rpm database lists"
    );

    // images.json lists the three with their manifests; productmd loads it.
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(compose_dir.join("metadata/images.json")).unwrap(),
    )
    .unwrap();
    let list = doc["payload"]["images"]["Temporary"]["x86_64"]
        .as_array()
        .unwrap();
    let kinds: Vec<(&str, &str)> = list
        .iter()
        .map(|i| (i["type"].as_str().unwrap(), i["format"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("container", "ociarchive"),
            ("qcow2", "qcow2"),
            ("raw", "raw")
        ]
    );
    for i in list {
        let p = compose_dir.join(i["path"].as_str().unwrap());
        assert_eq!(i["checksums"]["sha256"], sha256_hex(&p));
        assert_eq!(i["size"], std::fs::metadata(&p).unwrap().len());
        let m = i["manifests"].as_array().unwrap();
        assert_eq!(m.len(), 2);
        for f in m {
            let mp = compose_dir.join(f["path"].as_str().unwrap());
            assert_eq!(f["checksums"]["sha256"], sha256_hex(&mp));
            assert_eq!(f["size"], std::fs::metadata(&mp).unwrap().len());
        }
    }
    productmd_images(
        &compose_dir,
        &compose_dir.join("Temporary/x86_64/os/.treeinfo"),
    );

    // The SBOM: SPDX 2.3 that spdx-tools parses and validates, one package per NEVRA with the
    // SHA-256 of its RPM file in the compose.
    let spdx_path = PathBuf::from(format!("{}.spdx.json", oci.display()));
    let spdx: Value = serde_json::from_str(&std::fs::read_to_string(&spdx_path).unwrap()).unwrap();
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    let pkgs = spdx["packages"].as_array().unwrap();
    assert_eq!(pkgs.len(), nevras.len());
    let tools = pkgs
        .iter()
        .find(|p| p["name"] == "acme-tools")
        .expect("acme-tools in the SBOM");
    assert_eq!(
        tools["checksums"][0]["checksumValue"],
        sha256_hex(
            &compose_dir.join("Temporary/x86_64/os/Packages/a/acme-tools-1.0-1.fc40.x86_64.rpm")
        )
    );
    assert_eq!(tools["licenseDeclared"], "MIT");
    if let Some(bin) = support::venv_bin() {
        let script = r#"
import json, sys
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
doc = parse_file(sys.argv[1])
errors = [m.validation_message for m in validate_full_spdx_document(doc)]
print(json.dumps({"errors": errors, "names": sorted(p.name for p in doc.packages)}))
"#;
        let (ok, out) = run(Command::new(bin.join("python"))
            .arg("-c")
            .arg(script)
            .arg(&spdx_path));
        assert!(ok, "spdx-tools: {out}");
        let v: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        assert_eq!(v["errors"], json!([]), "{out}");
        assert_eq!(
            v["names"],
            json!(["acme-beta", "acme-data", "acme-tools", "libacme"])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_install_that_fails_fails_the_compose_naming_the_dependency() {
    let e = env().await;
    let c = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-broken"]},
               "results": ["qcow2"]}),
    )
    .await;
    assert_eq!(c["state_name"], "failed", "{c}");
    let reason = c["state_reason"].as_str().unwrap();
    assert!(
        reason.contains("image install (dnf) failed") && reason.contains("acme-missing"),
        "{reason}"
    );
    let base = &e.app.settings.composes.target_dir;
    let id = c["id"].as_i64().unwrap();
    assert!(!base.join(format!("odcs-{id}")).exists());
    let left: Vec<_> = std::fs::read_dir(base)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "no temporary tree left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_iso_is_refused_without_a_command_naming_what_is_missing() {
    let e = env().await;
    let r = e
        .app
        .post(&json!({"source": {"type": "tag", "source": "f40"}, "results": ["boot.iso"]}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let m = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        m.contains("\"boot.iso\"")
            && m.contains("lorax")
            && m.contains("composes.boot_iso_command"),
        "{m}"
    );
    assert_eq!(e.app.count_composes().await, 0, "nothing stored");
}

/// A `boot_iso_command` that makes a small ISO of its tree with xorriso, or sleeps first when
/// `<dir>/slow` exists (writing its pid to `<dir>/pid`).
fn boot_iso_script(dir: &Path) -> PathBuf {
    let script = dir.join("make-boot-iso");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nset -e\necho $$ > {d}/pid\nif [ -e {d}/slow ]; then sleep 60; fi\n\
             xorriso -as mkisofs -quiet -volid \"$3\" -o \"$2\" \"$1/repodata\"\n",
            d = dir.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_iso_by_the_configured_command_and_a_delete_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = boot_iso_script(dir.path());
    let e = env_with(move |s| {
        s.composes.boot_iso_command = vec![script.to_string_lossy().into_owned()];
    })
    .await;
    let c = compose(
        &e.app,
        json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-data"]},
               "results": ["boot.iso", "iso"]}),
    )
    .await;
    assert_eq!(c["state_name"], "done", "{c}");
    let id = c["id"].as_i64().unwrap();
    let compose_dir = tree(&e.app, id).join("compose");
    let boot = compose_dir.join("Temporary/x86_64/os/images/boot.iso");
    let (ok, out) = run(Command::new("xorriso")
        .arg("-indev")
        .arg(&boot)
        .arg("-pvd_info"));
    assert!(
        ok && out.contains(&format!("odcs-{id}-1 Temporary.x86_64")),
        "{out}"
    );
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(compose_dir.join("metadata/images.json")).unwrap(),
    )
    .unwrap();
    let boot_entry = doc["payload"]["images"]["Temporary"]["x86_64"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "boot")
        .cloned()
        .expect("boot.iso in images.json");
    assert_eq!(
        (boot_entry["bootable"].clone(), boot_entry["path"].clone()),
        (json!(true), json!("Temporary/x86_64/os/images/boot.iso"))
    );

    // A DELETE while the image is being made kills the command and leaves no tree.
    std::fs::write(dir.path().join("slow"), "").unwrap();
    let _ = std::fs::remove_file(dir.path().join("pid"));
    let r = e
        .app
        .post(
            &json!({"source": {"type": "tag", "source": "f40", "packages": ["acme-tools"]},
                      "results": ["boot.iso"], "flags": ["no_reuse"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.json()["id"].as_i64().unwrap();
    let mut pid = None;
    for _ in 0..400 {
        if let Ok(p) = std::fs::read_to_string(dir.path().join("pid")) {
            pid = p.trim().parse::<i32>().ok();
            if pid.is_some() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let pid = pid.expect("the boot.iso command started");
    let r = e.app.delete(id).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let base = e.app.settings.composes.target_dir.clone();
    let mut stopped = false;
    for _ in 0..400 {
        let alive = Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ");
        let tmp = std::fs::read_dir(&base)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".tmp-"));
        if !alive && !tmp {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        stopped,
        "the command is killed and the temporary tree removed"
    );
    assert!(!base.join(format!("odcs-{id}")).exists());
    let c = e.app.get(&format!("/api/1/composes/{id}")).await.json();
    assert_eq!(c["state_name"], "failed");
}
