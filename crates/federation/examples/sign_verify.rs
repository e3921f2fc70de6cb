//! Benchmark baseline for HTTP Signatures: times N RSA-2048 signatures and
//! verifications (draft-cavage, as on delivery and in the inbox) and prints
//! operations per second.
//!
//! `cargo run --release -p ferrodon-federation --example sign_verify [N]`

use std::time::{Instant, SystemTime};

use ferrodon_federation::signatures::{
    PrivateKey, PublicKey, SignatureError, generate_rsa_2048, sign_cavage, verify_request,
};

const BODY: &[u8] = br#"{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","actor":"https://a.example/users/alice"}"#;
const KEY_ID: &str = "https://a.example/users/alice#main-key";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1000);

    let started = Instant::now();
    let generated = generate_rsa_2048()?;
    println!("RSA-2048 key generation: {:?}", started.elapsed());
    let private = PrivateKey::from_pem(&generated.private_key_pem)?;
    let public = PublicKey::from_pem(&generated.public_key_pem)?;

    let now = SystemTime::now();
    let request = || -> Result<http::request::Parts, Box<dyn std::error::Error>> {
        Ok(http::Request::builder()
            .method("POST")
            .uri("https://b.example/users/bob/inbox")
            .header("content-type", "application/activity+json")
            .body(())?
            .into_parts()
            .0)
    };

    let started = Instant::now();
    let mut signed = request()?;
    for _ in 0..n {
        signed = request()?;
        sign_cavage(&mut signed, Some(BODY), KEY_ID, &private, now)?;
    }
    report("sign (cavage, RSA-2048)", n, started);

    let started = Instant::now();
    for _ in 0..n {
        verify_request(
            &signed.method,
            &signed.uri,
            &signed.headers,
            Some(BODY),
            now,
        )?
        .verify(&public)?;
    }
    report(
        "verify (cavage, RSA-2048, with parse and digest)",
        n,
        started,
    );

    let started = Instant::now();
    for _ in 0..n {
        let _: Result<PublicKey, SignatureError> = PublicKey::from_pem(&generated.public_key_pem);
    }
    report("parse public key PEM", n, started);
    Ok(())
}

fn report(what: &str, n: u32, started: Instant) {
    let elapsed = started.elapsed();
    let per_sec = f64::from(n) / elapsed.as_secs_f64();
    println!("{what}: {n} in {elapsed:?}, {per_sec:.0} ops/s");
}
