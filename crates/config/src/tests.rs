//! Tests of loading the configuration, and of the README table against [`crate::SETTINGS`].

mod config_tests {
    use crate::*;
    use std::collections::HashMap;

    fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        load(None, |k| map.get(k).cloned()).map(|(c, _)| c)
    }

    #[test]
    fn zero_configuration_works() -> Result<(), ConfigError> {
        let c = load_env(&[])?;
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.resolved_domain(3000), "localhost:3000");
        assert!(!c.https_for("localhost:3000"));
        assert_eq!(c.database.kind(), DatabaseKind::Sqlite);
        assert!(c.database.url.ends_with("data/ferrodon.sqlite3"));
        assert_eq!(c.database.direct_url, c.database.url);
        assert_eq!(c.registrations, RegistrationMode::Open);
        assert!(c.password_grant);
        assert!(c.media.dir.ends_with("data/media"));
        assert_eq!(c.media.max_image_bytes, 16_777_216);
        assert_eq!(c.media.max_video_bytes, 103_809_024);
        assert_eq!(c.media.unattached_quota_bytes, 209_715_200);
        assert_eq!(c.media.unattached_quota_files, 20);
        Ok(())
    }

    #[test]
    fn https_defaults_follow_the_domain() -> Result<(), ConfigError> {
        let c = load_env(&[("LOCAL_DOMAIN", "Example.COM")])?;
        assert_eq!(c.domain.as_deref(), Some("example.com"));
        assert!(c.https_for("example.com"));
        assert!(!c.https_for("example.com:8443"));
        let forced = load_env(&[("LOCAL_DOMAIN", "example.com"), ("FERRODON_HTTPS", "false")])?;
        assert!(!forced.https_for("example.com"));
        Ok(())
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = load_env(&[("FERRODON_LISTEN", "nonsense")]).err();
        assert_eq!(err.map(|e| e.key), Some("FERRODON_LISTEN".to_owned()));
        let err = load_env(&[("DATABASE_URL", "mysql://x")]).err();
        assert_eq!(err.map(|e| e.key), Some("DATABASE_URL".to_owned()));
        let err = load_env(&[("PREPARED_STATEMENTS", "maybe")]).err();
        assert_eq!(err.map(|e| e.key), Some("PREPARED_STATEMENTS".to_owned()));
        let err = load_env(&[("FERRODON_REGISTRATIONS", "sometimes")]).err();
        assert_eq!(
            err.map(|e| e.key),
            Some("FERRODON_REGISTRATIONS".to_owned())
        );
    }

    #[test]
    fn environment_overrides_the_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ferrodon.toml");
        std::fs::write(
            &path,
            "domain = \"social.example\"\nregistrations = \"approval\"\n[database]\npool = 3\nprepared_statements = false\n",
        )?;
        let env: HashMap<&str, &str> = [("FERRODON_REGISTRATIONS", "closed")].into();
        let (c, report) = load(Some(&path), |k| env.get(k).map(|v| (*v).to_owned()))?;
        assert_eq!(c.domain.as_deref(), Some("social.example"));
        assert_eq!(c.registrations, RegistrationMode::Closed);
        assert_eq!(c.database.pool, 3);
        assert!(!c.database.prepared_statements);
        let reg = report.iter().find(|(k, _, _)| *k == "registrations");
        assert_eq!(
            reg.map(|r| &r.2),
            Some(&Source::Env("FERRODON_REGISTRATIONS"))
        );
        Ok(())
    }

    #[test]
    fn unknown_file_keys_are_errors() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[database]\nurll = \"x\"\n")?;
        let err = load(Some(&path), |_| None).err();
        assert_eq!(err.map(|e| e.key), Some("database.urll".to_owned()));
        std::fs::write(&path, "domain = \n")?;
        let err = load(Some(&path), |_| None).err();
        assert!(err.is_some_and(|e| e.key.ends_with(":1") && !e.message.contains('\n')));
        Ok(())
    }

    #[test]
    fn mastodon_split_variables_build_urls() -> Result<(), ConfigError> {
        let c = load_env(&[
            ("DB_HOST", "db.internal"),
            ("DB_USER", "mastodon"),
            ("DB_PASS", "s3cret"),
            ("DB_NAME", "mastodon_production"),
            ("REDIS_HOST", "redis.internal"),
        ])?;
        assert_eq!(
            c.database.url,
            "postgres://mastodon:s3cret@db.internal/mastodon_production"
        );
        assert_eq!(c.redis.url.as_deref(), Some("redis://redis.internal:6379"));
        Ok(())
    }

    #[test]
    fn allowed_private_addresses_are_typed() -> Result<(), ConfigError> {
        assert!(load_env(&[])?.allowed_private_addresses.is_empty());
        let c = load_env(&[(
            "ALLOWED_PRIVATE_ADDRESSES",
            "127.0.0.1/32, 10.0.0.7/8,fd00::5",
        )])?;
        let shown: Vec<String> = c
            .allowed_private_addresses
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "fd00::5/128"]);
        let err = load_env(&[("ALLOWED_PRIVATE_ADDRESSES", "10.0.0.0/33")]).err();
        assert_eq!(
            err.map(|e| e.key),
            Some("ALLOWED_PRIVATE_ADDRESSES".to_owned())
        );
        assert!(parse_cidr_list("localhost").is_err());
        assert_eq!(parse_cidr_list(" , ").map(|v| v.len()), Ok(0));
        Ok(())
    }

    #[test]
    fn federation_allow_http_defaults_to_false() -> Result<(), ConfigError> {
        assert!(!load_env(&[])?.federation_allow_http);
        assert!(load_env(&[("FERRODON_FEDERATION_ALLOW_HTTP", "true")])?.federation_allow_http);
        let err = load_env(&[("FERRODON_FEDERATION_ALLOW_HTTP", "maybe")]).err();
        assert_eq!(
            err.map(|e| e.key),
            Some("FERRODON_FEDERATION_ALLOW_HTTP".to_owned())
        );
        Ok(())
    }

    #[test]
    fn http_limits_and_the_metrics_listener() -> Result<(), ConfigError> {
        let c = load_env(&[])?;
        assert_eq!(c.http.header_read_timeout_s, 10);
        assert_eq!(c.http.body_read_timeout_s, 30);
        assert_eq!(c.http.keepalive_timeout_s, 20);
        assert_eq!(c.http.max_connections, 4096);
        assert_eq!(c.rate_limits.media, 30);
        assert_eq!(
            c.metrics_listen,
            MetricsListen::Default(SocketAddr::from(([127, 0, 0, 1], 9394)))
        );
        let loopback: std::net::IpAddr = [127, 0, 0, 1].into();
        let private: std::net::IpAddr = [10, 1, 2, 3].into();
        let public: std::net::IpAddr = [203, 0, 113, 1].into();
        let trusted = |c: &Config, ip: &std::net::IpAddr| {
            c.http.trusted_proxies.iter().any(|n| n.contains(ip))
        };
        assert!(trusted(&c, &loopback) && trusted(&c, &private) && !trusted(&c, &public));

        let c = load_env(&[
            ("FERRODON_METRICS_LISTEN", "off"),
            ("TRUSTED_PROXY_IP", "203.0.113.0/24 198.51.100.7"),
            ("FERRODON_MAX_CONNECTIONS", "8"),
            ("FERRODON_RATE_LIMIT_MEDIA", "0"),
        ])?;
        assert_eq!(c.metrics_listen, MetricsListen::Off);
        assert!(trusted(&c, &public) && !trusted(&c, &loopback));
        assert_eq!(c.http.trusted_proxies.len(), 2);
        assert_eq!(c.http.max_connections, 8);
        assert_eq!(c.rate_limits.media, 0);
        let c = load_env(&[("FERRODON_METRICS_LISTEN", "0.0.0.0:9400")])?;
        assert_eq!(
            c.metrics_listen,
            MetricsListen::Explicit(SocketAddr::from(([0, 0, 0, 0], 9400)))
        );
        assert!(
            load_env(&[("TRUSTED_PROXY_IP", "none")])?
                .http
                .trusted_proxies
                .is_empty()
        );
        for (key, value) in [
            ("FERRODON_METRICS_LISTEN", "9394"),
            ("FERRODON_HEADER_READ_TIMEOUT", "0"),
            ("FERRODON_KEEPALIVE_TIMEOUT", "soon"),
            ("FERRODON_MAX_CONNECTIONS", "0"),
            ("TRUSTED_PROXY_IP", "proxy.internal"),
        ] {
            let err = load_env(&[(key, value)]).err();
            assert_eq!(err.map(|e| e.key), Some(key.to_owned()), "{key}={value}");
        }
        Ok(())
    }

    #[test]
    fn secrets_are_redacted_in_the_report() -> Result<(), ConfigError> {
        let env: HashMap<&str, &str> = [
            ("DATABASE_URL", "postgres://u:hunter2@db/x"),
            ("SECRET_KEY_BASE", "0123456789abcdef0123456789abcdef0123"),
        ]
        .into();
        let (_, report) = load(None, |k| env.get(k).map(|v| (*v).to_owned()))?;
        let text = format!("{report:?}");
        assert!(!text.contains("hunter2"));
        assert!(!text.contains("0123456789abcdef"));
        Ok(())
    }
}

mod readme_tests {
    /// The README's configuration table row of a setting.
    fn row(s: &crate::Setting) -> String {
        let envs: Vec<String> = s.env.iter().map(|e| format!("`{e}`")).collect();
        let secret = if s.secret { " (secret)" } else { "" };
        format!(
            "| {} | `{}` | {} | {}{secret} |",
            envs.join(", "),
            s.key,
            s.default,
            s.doc
        )
    }

    /// The README's configuration table is current: one row per setting,
    /// exactly as `SETTINGS` declares it (on failure, the expected table is printed).
    #[test]
    fn readme_documents_every_setting() {
        let readme = include_str!("../../../README.md");
        let table: Vec<String> = crate::SETTINGS.iter().map(row).collect();
        let missing: Vec<&String> = table
            .iter()
            .filter(|r| !readme.contains(r.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "README's configuration table is stale; rows to use:\n{}",
            table.join("\n")
        );
    }
}
