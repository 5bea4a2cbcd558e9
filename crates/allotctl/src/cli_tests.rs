//! How command lines parse: the noun-verb tree, and the old flat names as
//! aliases of it.

use clap::CommandFactory;

use super::*;

fn parse(args: &[&str]) -> Command {
    let mut argv = vec!["allotctl"];
    argv.extend(args);
    match Cli::try_parse_from(argv) {
        Ok(cli) => cli.command,
        Err(e) => panic!("{args:?}: {e}"),
    }
}

#[test]
fn the_command_tree_is_consistent() {
    Cli::command().debug_assert();
}

/// Every flat name of earlier versions parses, with its flags, into the
/// same command as its noun-verb name.
#[test]
fn old_names_are_the_new_commands() {
    let pairs: &[(&[&str], &[&str])] = &[
        (&["teams"], &["team", "list"]),
        (&["token"], &["auth", "token"]),
        (&["products"], &["product", "list"]),
        (&["my-products"], &["product", "mine"]),
        (
            &["add-product", "cad", "--name", "CAD", "--item", "d:support"],
            &[
                "product",
                "create",
                "cad",
                "--name",
                "CAD",
                "--item",
                "d:support",
            ],
        ),
        (
            &[
                "buy",
                "--owner",
                "o@x",
                "--seats",
                "cad=3",
                "--serial",
                "S",
                "--premium",
            ],
            &[
                "contract",
                "create",
                "--owner",
                "o@x",
                "--seats",
                "cad=3",
                "--serial",
                "S",
                "--premium",
            ],
        ),
        (&["pools", "--team", "t"], &["seat", "list", "--team", "t"]),
        (
            &[
                "assign",
                "--team",
                "t",
                "--email",
                "a@x",
                "--email",
                "b@x",
                "--product",
                "cad",
                "--items",
                "d,r",
            ],
            &[
                "seat",
                "assign",
                "--team",
                "t",
                "--email",
                "a@x",
                "--email",
                "b@x",
                "--product",
                "cad",
                "--items",
                "d,r",
            ],
        ),
        (
            &[
                "unassign",
                "--team",
                "t",
                "--email",
                "a@x",
                "--product",
                "cad",
            ],
            &[
                "seat",
                "unassign",
                "--team",
                "t",
                "--email",
                "a@x",
                "--product",
                "cad",
            ],
        ),
        (
            &["check", "--email", "a@x", "--product", "cad"],
            &["seat", "check", "--email", "a@x", "--product", "cad"],
        ),
        (
            &["check", "--product", "cad"],
            &["seat", "check", "--product", "cad"],
        ),
        (
            &["move", "--subscription", "subscriptions/1", "--team", "t"],
            &[
                "subscription",
                "move",
                "--subscription",
                "subscriptions/1",
                "--team",
                "t",
            ],
        ),
        (
            &["members", "--team", "t", "--no-guests"],
            &["member", "list", "--team", "t", "--no-guests"],
        ),
        (
            &[
                "invite",
                "--team",
                "t",
                "--first-name",
                "A",
                "--last-name",
                "L",
                "--email",
                "a@x",
                "--guest",
            ],
            &[
                "invitation",
                "send",
                "--team",
                "t",
                "--first-name",
                "A",
                "--last-name",
                "L",
                "--email",
                "a@x",
                "--guest",
            ],
        ),
        (
            &["invite", "--team", "t", "--emails", "a@x; b@x"],
            &["invitation", "send", "--team", "t", "--emails", "a@x; b@x"],
        ),
        (
            &["resend", "--team", "t", "--email", "a@x"],
            &["invitation", "resend", "--team", "t", "--email", "a@x"],
        ),
        (&["accept", "tok"], &["invitation", "accept", "tok"]),
    ];
    for (old, new) in pairs {
        let Command::Old(o) = parse(old) else {
            panic!("{old:?} is not an old name");
        };
        assert_eq!(
            format!("{:?}", o.into_command()),
            format!("{:?}", parse(new)),
            "{old:?} and {new:?}"
        );
    }
}

#[test]
fn old_names_keep_their_checks() {
    for bad in [
        &["invite", "--team", "t", "--first-name", "A"][..],
        &["assign", "--team", "t", "--email", "a@x"],
        &["buy", "--owner", "o@x"],
        &["add-product", "cad", "--name", "CAD"],
    ] {
        let mut argv = vec!["allotctl"];
        argv.extend(bad);
        assert!(Cli::try_parse_from(argv).is_err(), "{bad:?} is refused");
    }
}

#[test]
fn help_shows_nouns_not_old_names() {
    let help = Cli::command().render_help().to_string();
    for noun in [
        "team",
        "member",
        "invitation",
        "seat",
        "product",
        "contract",
        "watch",
    ] {
        assert!(help.contains(&format!("  {noun} ")), "{noun} in {help}");
    }
    for old in [
        "teams",
        "pools",
        "buy",
        "add-product",
        "my-products",
        "invite",
    ] {
        assert!(
            !help.contains(&format!("  {old} ")),
            "{old} hidden in {help}"
        );
    }
}

#[test]
fn nested_groups_keep_their_subcommands() {
    for args in [
        &["team", "create", "Design"][..],
        &["team", "rename", "--team", "t", "Design"],
        &["team", "show", "--team", "t"],
        &[
            "member",
            "role",
            "--team",
            "t",
            "--email",
            "a@x",
            "secondary-admin",
        ],
        &["member", "guest", "--team", "t", "--email", "a@x", "--off"],
        &["member", "make-primary", "--team", "t", "--email", "a@x"],
        &["member", "remove", "--team", "t", "--email", "a@x"],
        &["group", "list", "--team", "t"],
        &["group", "add", "teams/t/groups/g", "a@x", "b@x"],
        &["group", "members", "teams/t/groups/g"],
        &[
            "service-account",
            "create",
            "Licensing",
            "--scope",
            "entitlements.check",
        ],
        &["service-account", "create-key", "serviceAccounts/s"],
        &["import", "users.csv", "--team", "t", "--validate-only"],
        &["import", "--show", "operations/1"],
        &[
            "export",
            "users",
            "--team",
            "t",
            "--products",
            "-o",
            "u.csv",
        ],
        &[
            "report",
            "usage",
            "--team",
            "t",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--csv",
        ],
        &[
            "watch",
            "team",
            "--cursor-file",
            "c",
            "--type",
            "member_removed",
        ],
    ] {
        parse(args);
    }
}

/// Shell completions cover the noun-verb tree.
#[test]
fn completions_name_every_noun() {
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "allotctl", &mut out);
        let script = String::from_utf8(out).unwrap_or_default();
        for noun in ["team", "seat", "login", "context"] {
            assert!(script.contains(noun), "{shell:?} completion lacks {noun}");
        }
    }
    assert!(matches!(
        parse(&["completion", "bash"]),
        Command::Completion { .. }
    ));
}

/// Flags and variables win over the stored context; without either, the
/// context gives the server, CA and credential.
#[test]
fn a_context_fills_what_flags_leave_out() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("config.json");
    let mut stored = contexts::Contexts::default();
    stored.contexts.insert(
        "prod".into(),
        contexts::Context {
            server: "https://allot.example:50050".into(),
            ca_file: Some("/etc/allot/ca.pem".into()),
            credential: Some("id:secret".into()),
            ..contexts::Context::default()
        },
    );
    stored.current = Some("prod".into());
    stored.save(&file).unwrap_or_else(|e| panic!("{e}"));
    let args = |argv: &[&str]| {
        let mut all = vec!["allotctl"];
        all.extend(argv);
        Cli::try_parse_from(all)
            .unwrap_or_else(|e| panic!("{e}"))
            .global
            .resolve_from(&file)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let g = args(&["team", "list"]);
    assert_eq!(g.server, "https://allot.example:50050");
    assert_eq!(g.credential.as_deref(), Some("id:secret"));
    assert_eq!(g.context.as_deref(), Some("prod"));
    assert!(!g.overridden);
    let g = args(&["--server", "http://127.0.0.1:1", "team", "list"]);
    assert_eq!(g.server, "http://127.0.0.1:1");
    assert_eq!(
        g.credential, None,
        "the context's credential is for its server only"
    );
    assert_eq!(g.ca_file, None);
    assert_eq!(g.context, None, "nor is its token");
    let g = args(&["--server", "https://allot.example:50050", "team", "list"]);
    assert_eq!(
        g.credential.as_deref(),
        Some("id:secret"),
        "the same server"
    );
}

/// R-INV-2: an invitation's token is base64url and may start with `-`;
/// `invitation accept` takes it as the token, not as a flag.
#[test]
fn r_inv_2_a_token_starting_with_a_dash_is_accepted_as_the_token() {
    let parsed = format!("{:?}", parse(&["invitation", "accept", "-lQx9_tok"]));
    assert!(parsed.contains("\"-lQx9_tok\""), "{parsed}");
}
