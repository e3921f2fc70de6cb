//! Custom emojis: added by the operator (`ferrodon admin emojis …`), listed
//! by `/api/v1/custom_emojis`, served from `/system/`, and shown wherever a
//! local text names them (statuses, polls, edits, profiles, announcements).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, TestServer, lane_test};
use serde_json::Value;

/// The start of a JPEG (not an accepted emoji type).
const JPEG_HEAD: &[u8] = &[
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x04, 0x00, 0x05, 0x03, 0x01, 0x22,
    0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xd9,
];

fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

/// `ferrodon admin emojis ARGS`: (exit code, stdout, stderr).
fn emojis_cmd(server: &TestServer, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["admin", "emojis"];
    all.extend_from_slice(args);
    server.command(&all)
}

fn emojis_ok(server: &TestServer, args: &[&str]) -> String {
    let (code, out, err) = emojis_cmd(server, args);
    assert_eq!(code, 0, "admin emojis {args:?}: {err}");
    out.trim().to_owned()
}

fn shortcodes(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|e| str_field(e, "shortcode"))
        .collect()
}

async fn fetch(api: &Api, url: &str) -> (u16, Vec<u8>) {
    let resp = api
        .http
        .get(api.url(&path_and_query(url)))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.bytes().await.unwrap().to_vec())
}

lane_test!(
    operator_emojis_are_listed_served_and_shown,
    |lane: Lane| async move {
        let server = spawn(lane).await;
        let api = Api::of(&server);
        let files = tempfile::tempdir().unwrap();
        let png = write_file(&files, "blobcat.png", PNG_3X2);
        assert_eq!(
            api.get("/api/v1/custom_emojis").await.ok_json(),
            Value::Array(vec![])
        );

        let id = emojis_ok(&server, &["add", "blobcat", &png, "--category", "Blobs"]);
        assert!(id.parse::<i64>().is_ok(), "prints the id: {id}");
        emojis_ok(&server, &["add", "secret_fox", &png, "--unlisted"]);

        // Refused: bad shortcodes, duplicates, other types, too large files, missing files.
        for (args, message) in [
            (vec!["add", "x", png.as_str()], "Shortcode"),
            (vec!["add", "blob-cat", png.as_str()], "Shortcode"),
            (vec!["add", "blobcat", png.as_str()], "already been taken"),
        ] {
            let (code, _, err) = emojis_cmd(&server, &args);
            assert_ne!(code, 0, "{args:?}");
            assert!(err.contains(message), "{args:?}: {err}");
        }
        let jpeg = write_file(&files, "photo.jpg", JPEG_HEAD);
        let text = write_file(&files, "notes.png", b"not an image at all");
        let mut big = PNG_3X2.to_vec();
        big.resize(300 * 1024, 0);
        let big = write_file(&files, "big.png", &big);
        for (file, message) in [
            (&jpeg, "content type is invalid"),
            (&text, "content type is invalid"),
            (&big, "file size must be less than"),
            (&"/nonexistent/x.png".to_owned(), "/nonexistent/x.png"),
        ] {
            let (code, _, err) = emojis_cmd(&server, &["add", "other", file]);
            assert_ne!(code, 0, "{file}");
            assert!(err.contains(message), "{file}: {err}");
        }
        let listing = emojis_ok(&server, &["list"]);
        let lines: Vec<&str> = listing.lines().map(str::trim_end).collect();
        assert_eq!(lines.len(), 2, "{listing}");
        assert_eq!(lines[0], format!("{id}\tblobcat\tlisted\tBlobs"));
        assert!(lines[1].ends_with("\tsecret_fox\tunlisted"), "{listing}");

        // The picker lists the listed one, and its image is served.
        let listed = api.get("/api/v1/custom_emojis").await.ok_json();
        assert_eq!(shortcodes(&listed), vec!["blobcat"]);
        let blobcat = &listed[0];
        assert_eq!(blobcat["category"], "Blobs");
        assert_eq!(blobcat["visible_in_picker"], true);
        let url = str_field(blobcat, "url");
        assert!(
            url.starts_with(&format!(
                "{}/system/custom_emojis/images/",
                public_url(&server)
            )),
            "{url}"
        );
        assert_eq!(blobcat["static_url"], blobcat["url"]);
        assert_eq!(fetch(&api, &url).await, (200, PNG_3X2.to_vec()));

        // Statuses, polls and profiles name them; unknown and glued shortcodes are left alone.
        let alice = user_token(&server, "alice").await.api(&api);
        let status = post_status_with(
            &alice,
            &[
                (
                    "status",
                    "Hello :blobcat: and :secret_fox: but not :nope: or x:blobcat:",
                ),
                ("spoiler_text", ":blobcat: inside"),
                ("poll[options][]", ":secret_fox: yes"),
                ("poll[options][]", "no"),
                ("poll[expires_in]", "3600"),
            ],
        )
        .await;
        let id = str_field(&status, "id");
        let shown = wait_until("the status names its emojis", || async {
            let v = alice.get(&format!("/api/v1/statuses/{id}")).await.ok_json();
            (shortcodes(&v["emojis"]).len() == 2).then_some(v)
        })
        .await;
        // In the order of the texts: content warning, content, poll options.
        assert_eq!(shortcodes(&shown["emojis"]), vec!["blobcat", "secret_fox"]);
        assert_eq!(shown["emojis"][0], *blobcat);
        assert_eq!(shortcodes(&shown["poll"]["emojis"]), vec!["secret_fox"]);

        alice
            .patch(
                "/api/v1/accounts/update_credentials",
                &[("display_name", "Alice :blobcat:"), ("note", "plain")],
            )
            .await
            .ok_json();
        let me = alice
            .get("/api/v1/accounts/verify_credentials")
            .await
            .ok_json();
        assert_eq!(shortcodes(&me["emojis"]), vec!["blobcat"]);
        let edited = alice
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/statuses/{id}"),
                Body::form(&[("status", "Now only :secret_fox:")]),
                &[],
            )
            .await
            .ok_json();
        assert_eq!(shortcodes(&edited["emojis"]), vec!["secret_fox"]);
        let history = alice
            .get(&format!("/api/v1/statuses/{id}/history"))
            .await
            .ok_json();
        assert_eq!(
            shortcodes(&history[0]["emojis"]),
            vec!["blobcat", "secret_fox"]
        );

        // Announcements and their reactions.
        let announcement = server.command(&["admin", "announcements", "create", "Party :blobcat:"]);
        assert_eq!(announcement.0, 0, "{}", announcement.2);
        let aid = announcement.1.trim().to_owned();
        alice
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/announcements/{aid}/reactions/blobcat"),
                Body::form(&[]),
                &[],
            )
            .await
            .ok_json();
        let list = alice.get("/api/v1/announcements").await.ok_json();
        assert_eq!(shortcodes(&list[0]["emojis"]), vec!["blobcat"]);
        assert_eq!(list[0]["reactions"][0]["name"], "blobcat");
        assert_eq!(list[0]["reactions"][0]["url"], blobcat["url"]);

        // Disabled: out of the picker and out of texts; enabled again: back.
        emojis_ok(&server, &["disable", "blobcat"]);
        assert_eq!(
            api.get("/api/v1/custom_emojis").await.ok_json(),
            Value::Array(vec![])
        );
        wait_until("the disabled emoji leaves profiles", || async {
            let me = alice
                .get("/api/v1/accounts/verify_credentials")
                .await
                .ok_json();
            me["emojis"].as_array()?.is_empty().then_some(())
        })
        .await;
        emojis_ok(&server, &["enable", "blobcat"]);
        assert_eq!(
            shortcodes(&api.get("/api/v1/custom_emojis").await.ok_json()),
            vec!["blobcat"]
        );

        // Removed: the row and the file go.
        emojis_ok(&server, &["remove", "blobcat"]);
        assert_eq!(fetch(&api, &url).await.0, 404);
        assert_eq!(
            api.get("/api/v1/custom_emojis").await.ok_json(),
            Value::Array(vec![])
        );
        let (code, _, err) = emojis_cmd(&server, &["remove", "blobcat"]);
        assert_ne!(code, 0);
        assert!(!err.is_empty());
        assert_eq!(emojis_ok(&server, &["list"]).lines().count(), 1);
        assert_no_panics(&server);
    }
);
