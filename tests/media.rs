//! Media attachments: uploads, the files served at `/system/`, statuses with
//! media, avatars and headers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ferrodon_testkit::{Lane, lane_test};
use reqwest::Method;
use serde_json::Value;

/// Tiny real files (made with ffmpeg; see `tests/fixtures/media`).
const GIF_2X3: &[u8] = include_bytes!("fixtures/media/image.gif");
const JPEG_5X4: &[u8] = include_bytes!("fixtures/media/image.jpg");
/// A 40×40 PNG of noise, 1,442 bytes.
const NOISE_PNG: &[u8] = include_bytes!("fixtures/media/noise.png");
const MOV: &[u8] = include_bytes!("fixtures/media/video.mov");
const MP4: &[u8] = include_bytes!("fixtures/media/video.mp4");

fn file<'a>(name: &'a str, file_name: &'a str, bytes: &'a [u8]) -> FilePart<'a> {
    FilePart {
        name,
        file_name,
        content_type: "image/png",
        bytes,
    }
}

async fn upload(api: &Api, path: &str, fields: &[(&str, &str)], bytes: &[u8], name: &str) -> Resp {
    api.send(
        Method::POST,
        path,
        Body::multipart_files(fields, &[file("file", name, bytes)]),
        &[],
    )
    .await
}

async fn upload_ok(api: &Api, bytes: &[u8], name: &str) -> Value {
    upload(api, "/api/v2/media", &[], bytes, name)
        .await
        .ok_json()
}

/// Fetches a file by its public URL: (status, content type, bytes).
async fn fetch(api: &Api, url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = api
        .http
        .get(api.url(&path_and_query(url)))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

async fn assert_serves(api: &Api, url: &str, bytes: &[u8], content_type: &str) {
    let (status, headers, body) = fetch(api, url).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(body, bytes, "{url} serves the uploaded bytes");
    assert_eq!(headers["content-type"], content_type, "{url}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age="),
        "{headers:?}"
    );
}

lane_test!(upload_describe_and_serve, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));

    let png = upload(
        &a,
        "/api/v2/media",
        &[("description", "three red pixels"), ("focus", "0.5,-0.25")],
        PNG_3X2,
        "x.png",
    )
    .await
    .ok_json();
    assert_keys(
        &png,
        &[
            "id",
            "type",
            "url",
            "preview_url",
            "remote_url",
            "preview_remote_url",
            "text_url",
            "meta",
            "description",
            "blurhash",
        ],
        "MediaAttachment",
    );
    assert_eq!(png["type"], "image");
    assert_eq!(png["description"], "three red pixels");
    assert_eq!(png["meta"]["original"]["width"], 3);
    assert_eq!(png["meta"]["original"]["height"], 2);
    assert_eq!(png["meta"]["original"]["size"], "3x2");
    assert_eq!(png["meta"]["original"]["aspect"], 1.5);
    assert_eq!(png["meta"]["small"]["width"], 3);
    assert_eq!(png["meta"]["focus"]["x"], 0.5);
    assert_eq!(png["meta"]["focus"]["y"], -0.25);
    assert!(png["remote_url"].is_null() && png["blurhash"].is_null());
    let url = str_field(&png, "url");
    assert!(
        url.starts_with(&format!(
            "{}/system/media_attachments/files/",
            public_url(&server)
        )),
        "{url}"
    );
    assert!(url.ends_with(".png"), "{url}");
    assert!(
        !url.contains(&str_field(&png, "id")),
        "the file name is not the id: {url}"
    );
    assert_eq!(png["preview_url"], png["url"]);
    assert_serves(&api.anon(), &url, PNG_3X2, "image/png").await;

    // The deprecated v1 route, a file name that lies: the bytes decide.
    let gif = upload(&a, "/api/v1/media", &[], GIF_2X3, "cat.png")
        .await
        .ok_json();
    assert_eq!(gif["type"], "image");
    assert_eq!(gif["meta"]["original"]["width"], 2);
    assert_eq!(gif["meta"]["original"]["height"], 3);
    assert!(str_field(&gif, "url").ends_with(".gif"));
    assert_serves(&api, &str_field(&gif, "url"), GIF_2X3, "image/gif").await;
    let jpeg = upload_ok(&a, JPEG_5X4, "photo.jpeg").await;
    assert_eq!(jpeg["meta"]["original"]["size"], "5x4");
    assert_serves(&api, &str_field(&jpeg, "url"), JPEG_5X4, "image/jpeg").await;

    // Text is not media, whatever its name says.
    upload(
        &a,
        "/api/v2/media",
        &[],
        b"<html><script>alert(1)</script></html>",
        "evil.png",
    )
    .await
    .err_is(422, "Validation failed: File content type is invalid");
    a.send(
        Method::POST,
        "/api/v2/media",
        Body::multipart(&[("description", "no file")]),
        &[],
    )
    .await
    .err_is(422, "Validation failed: File can't be blank");
    let long = "x".repeat(1501);
    upload(
        &a,
        "/api/v2/media",
        &[("description", &long)],
        PNG_3X2,
        "x.png",
    )
    .await
    .err_is(
        422,
        "Validation failed: Description is too long (maximum is 1500 characters)",
    );

    // Show and update one's own; others see nothing.
    let id = str_field(&png, "id");
    let path = format!("/api/v1/media/{id}");
    assert_eq!(a.get(&path).await.ok_json()["id"], id.as_str());
    let updated = a
        .send(
            Method::PUT,
            &path,
            Body::form(&[("description", "pixels"), ("focus", "-1,1")]),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(updated["description"], "pixels");
    assert_eq!(updated["meta"]["focus"]["x"], -1.0);
    assert_eq!(updated["meta"]["focus"]["y"], 1.0);
    assert_eq!(updated["url"], png["url"]);
    let focus_only = a
        .send(
            Method::PUT,
            &path,
            Body::Json(serde_json::json!({"focus": "0,0"})),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(focus_only["description"], "pixels", "left alone");
    a.send(
        Method::PUT,
        &path,
        Body::form(&[("description", &long)]),
        &[],
    )
    .await
    .err_is(
        422,
        "Validation failed: Description is too long (maximum is 1500 characters)",
    );
    b.get(&path).await.err(404);
    b.send(
        Method::PUT,
        &path,
        Body::form(&[("description", "mine now")]),
        &[],
    )
    .await
    .err(404);
    b.delete(&path).await.err(404);
    a.get("/api/v1/media/999999").await.err(404);
    api.get(&path).await.err(401);

    // Scopes: write:media (or write); read is not enough.
    create_account(&server, "carol", &[]);
    let media_app = register_app_with(&api, "read write:media", "urn:ietf:wg:oauth:2.0:oob").await;
    let media_only = password_token(&api, &media_app, &email_of("carol"), "write:media").await;
    upload(
        &api.with_token(&media_only),
        "/api/v2/media",
        &[],
        PNG_3X2,
        "x.png",
    )
    .await
    .ok_json();
    let reader = user_with_scope(&server, "dave", "read").await;
    upload(&reader.api(&api), "/api/v2/media", &[], PNG_3X2, "x.png")
        .await
        .err(403);

    // Only stored paths are served.
    let relative = path_and_query(&url);
    for bad in [
        "/system/../Cargo.toml".to_owned(),
        "/system/%2e%2e/%2e%2e/etc/passwd".to_owned(),
        "/system/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/system/media_attachments/files/../../ferrodon.sqlite3".to_owned(),
        "/system/secrets.toml".to_owned(),
        relative.replace(".png", ".html"),
        relative.replace("/original/", "/small/"),
        format!("{relative}/x"),
        "/system/".to_owned(),
    ] {
        let resp = raw_request(&server.base_url, "GET", &bad, &[], Vec::new()).await;
        assert_eq!(resp.status, 404, "{bad}: {}", resp.describe());
    }

    // Unattached media can be deleted: `{}`, and the file goes.
    assert_eq!(a.delete(&path).await.ok_json(), serde_json::json!({}));
    a.get(&path).await.err(404);
    assert_eq!(fetch(&api, &url).await.0, 404);

    // The instance publishes the limits it applies.
    let instance = api.get("/api/v2/instance").await.ok_json();
    let media_conf = &instance["configuration"]["media_attachments"];
    assert_eq!(media_conf["image_size_limit"], 16_777_216);
    assert_eq!(media_conf["video_size_limit"], 103_809_024);
    assert_eq!(media_conf["description_limit"], 1500);
    assert!(
        media_conf["supported_mime_types"]
            .as_array()
            .unwrap()
            .contains(&Value::from("image/png"))
    );
    assert_eq!(
        instance["configuration"]["statuses"]["max_media_attachments"],
        4
    );
    assert_eq!(leftover_uploads(&server), Vec::<String>::new());
    assert_no_panics(&server);
});

lane_test!(size_limits, |lane: Lane| async move {
    let server = spawn_with(
        lane,
        &[
            ("FERRODON_MAX_IMAGE_SIZE", "100"),
            ("FERRODON_MAX_VIDEO_SIZE", "2000"),
        ],
    )
    .await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let instance = api.get("/api/v2/instance").await.ok_json();
    assert_eq!(
        instance["configuration"]["media_attachments"]["image_size_limit"],
        100
    );
    assert_eq!(
        instance["configuration"]["media_attachments"]["video_size_limit"],
        2000
    );

    upload_ok(&a, PNG_3X2, "small.png").await;
    // Within the largest limit but over the image limit: Mastodon's validation error.
    let mut big_png = PNG_3X2.to_vec();
    big_png.resize(1500, 0);
    upload(&a, "/api/v2/media", &[], &big_png, "big.png")
        .await
        .err_is(
            422,
            "Validation failed: File file size must be less than 100 Bytes",
        );
    // A video may be that large.
    assert!(MOV.len() > 100 && MOV.len() < 2000);
    let video = upload_ok(&a, MOV, "clip.mov").await;
    assert_eq!(video["type"], "video");
    assert_eq!(video["meta"], serde_json::json!({}));
    assert_serves(&api, &str_field(&video, "url"), MOV, "video/quicktime").await;
    // Over every limit: 413, found while the file streams in…
    let mut huge = PNG_3X2.to_vec();
    huge.resize(5000, 0);
    upload(&a, "/api/v2/media", &[], &huge, "huge.png")
        .await
        .err(413);
    // …or at once from the announced length.
    let mut enormous = PNG_3X2.to_vec();
    enormous.resize(3_000_000, 0);
    let (ct, body) = multipart_with_files(&[], &[file("file", "x.png", &enormous)]);
    let auth = format!("Bearer {}", alice.token);
    let resp = raw_request(
        &server.base_url,
        "POST",
        "/api/v2/media",
        &[("content-type", &ct), ("authorization", &auth)],
        body,
    )
    .await;
    resp.err(413);
    // The generic body limit does not apply to uploads' files…
    let server2 = spawn_with(lane, &[("FERRODON_MAX_BODY_BYTES", "1000")]).await;
    let api2 = Api::of(&server2);
    let bob = user_token(&server2, "bob").await;
    assert!(NOISE_PNG.len() > 1000);
    upload_ok(&bob.api(&api2), NOISE_PNG, "x.png").await;
    // …but still to other routes.
    let (ct, body) = multipart_with_files(&[("status", "hi")], &[file("file", "x.png", NOISE_PNG)]);
    bob.api(&api2)
        .send(Method::POST, "/api/v1/statuses", Body::raw(&ct, body), &[])
        .await
        .err(413);
    assert_eq!(leftover_uploads(&server), Vec::<String>::new());
    assert_eq!(leftover_uploads(&server2), Vec::<String>::new());
    assert_no_panics(&server);
    assert_no_panics(&server2);
});

async fn statuses_of(api: &Api, path: &str) -> Vec<Value> {
    api.get(path).await.ok_json().as_array().unwrap().clone()
}

lane_test!(statuses_with_media, |lane: Lane| async move {
    let server = spawn_with(lane, &[("FERRODON_CLEANUP_INTERVAL", "1")]).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let (a, b) = (alice.api(&api), bob.api(&api));
    follow(&b, &alice.id).await;

    let first = upload_ok(&a, PNG_3X2, "1.png").await;
    let second = upload_ok(&a, GIF_2X3, "2.gif").await;
    let (first_id, second_id) = (str_field(&first, "id"), str_field(&second, "id"));
    // Only media, no text; the order of media_ids is kept.
    let status = post_status_with(
        &a,
        &[("media_ids[]", &second_id), ("media_ids[]", &first_id)],
    )
    .await;
    let ids: Vec<&str> = status["media_attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![second_id.as_str(), first_id.as_str()]);
    assert_eq!(
        status["media_attachments"][0]["meta"]["original"]["width"],
        2
    );
    assert_eq!(status["content"], "");
    let status_id = str_field(&status, "id");

    // Everywhere the status shows, its media show, in order.
    let shown = b
        .get(&format!("/api/v1/statuses/{status_id}"))
        .await
        .ok_json();
    assert_eq!(shown["media_attachments"], status["media_attachments"]);
    wait_home(&b, "the post with media", |ids| ids.contains(&status_id)).await;
    let home = statuses_of(&b, "/api/v1/timelines/home").await;
    assert_eq!(home[0]["media_attachments"], status["media_attachments"]);
    let public = statuses_of(&api, "/api/v1/timelines/public").await;
    assert_eq!(public[0]["media_attachments"][1]["id"], first_id.as_str());

    // only_media lists only statuses with media.
    let plain = post_status(&a, "just words").await;
    let alice_statuses = format!("/api/v1/accounts/{}/statuses", alice.id);
    assert_eq!(
        ids_of(&statuses_of(&api, &alice_statuses).await),
        vec![str_field(&plain, "id"), status_id.clone()]
    );
    assert_eq!(
        ids_of(&statuses_of(&api, &format!("{alice_statuses}?only_media=true")).await),
        vec![status_id.clone()]
    );
    assert_eq!(
        ids_of(&statuses_of(&api, "/api/v1/timelines/public?only_media=true").await),
        vec![status_id.clone()]
    );
    let tagged = upload_ok(&a, PNG_3X2, "t.png").await;
    post_status_with(
        &a,
        &[
            ("status", "#cats"),
            ("media_ids[]", &str_field(&tagged, "id")),
        ],
    )
    .await;
    post_status(&a, "#cats without a picture").await;
    assert_eq!(
        statuses_of(&api, "/api/v1/timelines/tag/cats?only_media=true")
            .await
            .len(),
        1
    );
    assert_eq!(
        statuses_of(&api, "/api/v1/timelines/tag/cats").await.len(),
        2
    );

    // Attached media are no longer listed, edited or deleted alone.
    a.get(&format!("/api/v1/media/{first_id}")).await.err(404);
    a.delete(&format!("/api/v1/media/{first_id}"))
        .await
        .err_is(422, "Media attachment is currently used by a status");
    // Already attached, someone else's, unknown, too many, with a poll.
    let again = a
        .post(
            "/api/v1/statuses",
            &[("status", "again"), ("media_ids[]", &first_id)],
        )
        .await;
    again.err_is(
        422,
        &format!("Media {first_id} not found or already attached to another post"),
    );
    let bobs = upload_ok(&b, PNG_3X2, "b.png").await;
    a.post(
        "/api/v1/statuses",
        &[
            ("status", "stolen"),
            ("media_ids[]", &str_field(&bobs, "id")),
        ],
    )
    .await
    .err_is(
        422,
        &format!(
            "Media {} not found or already attached to another post",
            str_field(&bobs, "id")
        ),
    );
    let mut five = Vec::new();
    for i in 0..5 {
        five.push(str_field(
            &upload_ok(&a, PNG_3X2, &format!("{i}.png")).await,
            "id",
        ));
    }
    let mut fields: Vec<(&str, &str)> = vec![("status", "five")];
    fields.extend(five.iter().map(|id| ("media_ids[]", id.as_str())));
    a.post("/api/v1/statuses", &fields)
        .await
        .err_is(422, "Cannot attach more than 4 files");
    a.post_json("/api/v1/statuses", serde_json::json!({"status": "poll", "media_ids": [five[0]], "poll": {"options": ["a", "b"], "expires_in": 600}}))
        .await
        .err_is(422, "Cannot attach more than 4 files");
    a.post("/api/v1/statuses", &[("status", "")])
        .await
        .err_is(422, "Validation failed: Text can't be blank");
    // Nothing was attached by the failed posts.
    let four = post_status_with(
        &a,
        &[
            ("status", "four"),
            ("media_ids[]", &five[0]),
            ("media_ids[]", &five[1]),
            ("media_ids[]", &five[2]),
            ("media_ids[]", &five[3]),
        ],
    )
    .await;
    assert_eq!(four["media_attachments"].as_array().unwrap().len(), 4);

    // Deleting the status returns it with its media (for a redraft) and
    // leaves them unattached for a day; a redraft can reuse them.
    let deleted = a
        .delete(&format!("/api/v1/statuses/{status_id}"))
        .await
        .ok_json();
    assert_eq!(deleted["media_attachments"], status["media_attachments"]);
    assert_eq!(
        a.get(&format!("/api/v1/media/{first_id}")).await.ok_json()["id"],
        first_id.as_str()
    );
    let redraft = post_status_with(&a, &[("status", "redraft"), ("media_ids[]", &first_id)]).await;
    assert_eq!(redraft["media_attachments"][0]["id"], first_id.as_str());
    assert_serves(&api, &str_field(&first, "url"), PNG_3X2, "image/png").await;

    // The clean-up removes uploads left unattached for a day, with their files.
    let old = if server.db.direct_url.starts_with("sqlite:") {
        "UPDATE media_attachments SET updated_at = '2001-01-01T00:00:00.000000Z' WHERE id = $1"
    } else {
        "UPDATE media_attachments SET updated_at = CAST('2001-01-01T00:00:00Z' AS TIMESTAMPTZ) WHERE id = CAST($1 AS BIGINT)"
    };
    assert_eq!(sql_execute(&server, old, &[&second_id]).await, 1);
    assert_eq!(sql_execute(&server, old, &[&five[4]]).await, 1);
    // Two statements: a clean-up pass may run between them, so wait for both.
    wait_until("the stale uploads are removed", || async {
        let second_gone = a.get(&format!("/api/v1/media/{second_id}")).await.status == 404;
        let fifth_gone = a.get(&format!("/api/v1/media/{}", five[4])).await.status == 404;
        (second_gone && fifth_gone).then_some(())
    })
    .await;
    assert_eq!(fetch(&api, &str_field(&second, "url")).await.0, 404);
    // Recent unattached uploads stay.
    a.get(&format!("/api/v1/media/{}", str_field(&bobs, "id")))
        .await
        .err(404);
    b.get(&format!("/api/v1/media/{}", str_field(&bobs, "id")))
        .await
        .ok_json();
    assert_no_panics(&server);
});

/// Files left in the upload directory (none once requests are answered).
fn leftover_uploads(server: &ferrodon_testkit::TestServer) -> Vec<String> {
    let data_dir = server
        .instance_env
        .iter()
        .find(|(k, _)| k == "FERRODON_DATA_DIR")
        .map(|(_, v)| v.clone())
        .unwrap();
    match std::fs::read_dir(std::path::Path::new(&data_dir).join("media/tmp")) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn ids_of(list: &[Value]) -> Vec<String> {
    list.iter().map(|s| str_field(s, "id")).collect()
}

lane_test!(avatars_and_headers, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let missing_avatar = format!("{}/avatars/original/missing.png", public_url(&server));

    let me = a.get("/api/v1/accounts/verify_credentials").await.ok_json();
    assert_eq!(me["avatar"], missing_avatar.as_str());

    let updated = a
        .send(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Body::multipart_files(
                &[("display_name", "Alice")],
                &[
                    file("avatar", "me.png", PNG_3X2),
                    file("header", "banner.gif", GIF_2X3),
                ],
            ),
            &[],
        )
        .await
        .ok_json();
    assert_eq!(updated["display_name"], "Alice");
    let avatar = str_field(&updated, "avatar");
    let header = str_field(&updated, "header");
    assert!(
        avatar.starts_with(&format!("{}/system/accounts/avatars/", public_url(&server))),
        "{avatar}"
    );
    assert!(
        header.starts_with(&format!("{}/system/accounts/headers/", public_url(&server))),
        "{header}"
    );
    assert_eq!(updated["avatar_static"], avatar.as_str());
    assert_eq!(updated["header_static"], header.as_str());
    assert_serves(&api, &avatar, PNG_3X2, "image/png").await;
    assert_serves(&api, &header, GIF_2X3, "image/gif").await;
    let me = a.get("/api/v1/accounts/verify_credentials").await.ok_json();
    assert_eq!(me["avatar"], avatar.as_str());
    let public = api
        .get(&format!("/api/v1/accounts/{}", alice.id))
        .await
        .ok_json();
    assert_eq!(public["avatar"], avatar.as_str());
    assert_eq!(public["header"], header.as_str());
    let post = post_status(&a, "new face").await;
    assert_eq!(post["account"]["avatar"], avatar.as_str());

    // A new avatar replaces the old file.
    let replaced = a
        .send(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Body::multipart_files(&[], &[file("avatar", "me.jpg", JPEG_5X4)]),
            &[],
        )
        .await
        .ok_json();
    let new_avatar = str_field(&replaced, "avatar");
    assert_ne!(new_avatar, avatar);
    assert!(new_avatar.ends_with(".jpg"));
    assert_eq!(fetch(&api, &avatar).await.0, 404);
    assert_eq!(replaced["header"], header.as_str(), "left alone");

    // Images only; nothing changes when one is refused.
    a.send(
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Body::multipart_files(
            &[("display_name", "Mallory")],
            &[file("avatar", "x.png", b"not an image at all")],
        ),
        &[],
    )
    .await
    .err_is(422, "Validation failed: Avatar content type is invalid");
    a.send(
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Body::multipart_files(&[], &[file("header", "x.mp4", MP4)]),
        &[],
    )
    .await
    .err_is(422, "Validation failed: Header content type is invalid");
    let me = a.get("/api/v1/accounts/verify_credentials").await.ok_json();
    assert_eq!(me["display_name"], "Alice");
    assert_eq!(me["avatar"], new_avatar.as_str());

    // Forms without files still work.
    a.patch("/api/v1/accounts/update_credentials", &[("note", "hello")])
        .await
        .ok_json();

    // DELETE /api/v1/profile/avatar and /header: back to the defaults.
    let cleared = a.delete("/api/v1/profile/avatar").await.ok_json();
    assert_eq!(cleared["avatar"], missing_avatar.as_str());
    assert_eq!(cleared["header"], header.as_str());
    assert!(cleared["source"].is_object(), "a CredentialAccount");
    assert_eq!(fetch(&api, &new_avatar).await.0, 404);
    let cleared = a.delete("/api/v1/profile/header").await.ok_json();
    assert_eq!(
        cleared["header"],
        format!("{}/headers/original/missing.png", public_url(&server)).as_str()
    );
    assert_eq!(fetch(&api, &header).await.0, 404);
    a.delete("/api/v1/profile/header").await.ok_json();
    api.delete("/api/v1/profile/avatar").await.err(401);
    assert_eq!(leftover_uploads(&server), Vec::<String>::new());
    assert_no_panics(&server);
});

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A well-formed PNG (chunks with their checksums) that says it is `w`×`h`.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let idat = [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &idat), (b"IEND", &[])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    out
}

// Uploads must parse: the review's "videos" (an MP4 header followed by
// zeros) and "images" (a GIF header followed by text claiming
// 29,500×29,283) are refused on the upload itself; declared sizes are
// checked against Mastodon's 33,177,600 pixels; real files of every
// accepted type pass with their real dimensions.
lane_test!(uploads_must_parse, |lane: Lane| async move {
    let server = spawn(lane).await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let a = alice.api(&api);
    let unverified = "File type of uploaded media could not be verified";

    let mut fake_mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    fake_mp4.resize(2_000_000, 0);
    upload(&a, "/api/v2/media", &[], &fake_mp4, "clip.mp4")
        .await
        .err_is(422, unverified);
    let mut fake_gif = b"GIF89a".to_vec();
    fake_gif.extend_from_slice(&29_500u16.to_le_bytes());
    fake_gif.extend_from_slice(&29_283u16.to_le_bytes());
    fake_gif.extend_from_slice(b"\x00\x00\x00 and then nothing but text");
    let refused = upload(&a, "/api/v2/media", &[], &fake_gif, "big.gif")
        .await
        .err(422);
    assert!(
        refused == unverified || refused == "29500x29283 images are not supported",
        "{refused}"
    );
    upload(
        &a,
        "/api/v2/media",
        &[],
        &png_claiming(29_500, 29_283),
        "big.png",
    )
    .await
    .err_is(422, "29500x29283 images are not supported");
    // A real image followed by padding is not a PNG any more.
    let mut padded = PNG_3X2.to_vec();
    padded.resize(4096, 0);
    upload(&a, "/api/v1/media", &[], &padded, "padded.png")
        .await
        .err_is(422, unverified);
    // Avatars too.
    a.send(
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Body::multipart_files(&[], &[file("avatar", "me.gif", &fake_gif)]),
        &[],
    )
    .await
    .err(422);

    for (name, bytes, kind, size) in [
        ("image.jpg", JPEG_5X4, "image", Some("5x4")),
        ("image.gif", GIF_2X3, "image", Some("2x3")),
        (
            "image.webp",
            &include_bytes!("fixtures/media/image.webp")[..],
            "image",
            Some("3x2"),
        ),
        ("noise.png", NOISE_PNG, "image", Some("40x40")),
        ("video.mp4", MP4, "video", None),
        ("video.mov", MOV, "video", None),
        (
            "video.webm",
            &include_bytes!("fixtures/media/video.webm")[..],
            "video",
            None,
        ),
        (
            "audio.mp3",
            &include_bytes!("fixtures/media/audio.mp3")[..],
            "audio",
            None,
        ),
        (
            "audio.aac",
            &include_bytes!("fixtures/media/audio.aac")[..],
            "audio",
            None,
        ),
        (
            "audio.m4a",
            &include_bytes!("fixtures/media/audio.m4a")[..],
            "audio",
            None,
        ),
        (
            "audio.ogg",
            &include_bytes!("fixtures/media/audio.ogg")[..],
            "audio",
            None,
        ),
        (
            "audio.wav",
            &include_bytes!("fixtures/media/audio.wav")[..],
            "audio",
            None,
        ),
        (
            "audio.flac",
            &include_bytes!("fixtures/media/audio.flac")[..],
            "audio",
            None,
        ),
    ] {
        let m = upload_ok(&a, bytes, name).await;
        assert_eq!(m["type"], kind, "{name}");
        assert_eq!(m["meta"]["original"]["size"].as_str(), size, "{name}: {m}");
        // Out of the way of the quota.
        a.delete(&format!("/api/v1/media/{}", str_field(&m, "id")))
            .await
            .ok_json();
    }
    assert_eq!(leftover_uploads(&server), Vec::<String>::new());
    assert_no_panics(&server);
});

// One account keeps a bounded amount of uploads not attached to any post.
lane_test!(unattached_upload_quota, |lane: Lane| async move {
    let server = spawn_with(
        lane,
        &[
            ("FERRODON_UNATTACHED_MEDIA_FILES", "3"),
            ("FERRODON_UNATTACHED_MEDIA_QUOTA", "4000"),
        ],
    )
    .await;
    let api = Api::of(&server);
    let alice = user_token(&server, "alice").await;
    let bob = user_token(&server, "bob").await;
    let a = alice.api(&api);
    let first = upload_ok(&a, NOISE_PNG, "1.png").await;
    let second = upload_ok(&a, NOISE_PNG, "2.png").await;
    // 3 × 1,442 bytes is over 4,000.
    let resp = upload(&a, "/api/v2/media", &[], NOISE_PNG, "3.png").await;
    let message = resp.err(422);
    assert!(message.starts_with("Validation failed: "), "{message}");
    assert!(message.contains("not attached to a post"), "{message}");
    // Another account has its own quota.
    upload_ok(&bob.api(&api), NOISE_PNG, "b.png").await;
    // Posting frees the quota; small files fit until the count is reached.
    post_status_with(
        &a,
        &[("status", "two"), ("media_ids[]", &str_field(&first, "id"))],
    )
    .await;
    upload_ok(&a, PNG_3X2, "4.png").await;
    upload_ok(&a, PNG_3X2, "5.png").await;
    let resp = upload(&a, "/api/v2/media", &[], PNG_3X2, "6.png").await;
    assert!(resp.err(422).contains("at most 3"), "{}", resp.describe());
    // Deleting one makes room.
    a.delete(&format!("/api/v1/media/{}", str_field(&second, "id")))
        .await
        .ok_json();
    upload_ok(&a, PNG_3X2, "7.png").await;
    assert_eq!(leftover_uploads(&server), Vec::<String>::new());
});
