//! OVR-02: the published policy inside the application. Every signed-in person reads each pack in
//! force (rules beside the Cedar that enforces them, the data, the history, diffs); a revision is
//! proposed, checked, approved by the policy owner (never the proposer) and takes effect at the
//! recorded time, changing the decisions of the running server. Runs over HTTP on SQLite and
//! PostgreSQL.

mod common;

use common::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn rule_of(b: &Value) -> &str {
    b["rule"].as_str().unwrap_or_default()
}

/// OVR-02: every pack is readable by any signed-in person, and every Cedar policy in force
/// stands beside the plain-language rule it cites.
async fn ovr_02_every_pack_readable_with_rules_beside_cedar_body(backend: Backend) {
    let srv = common::start(backend).await;
    let det = srv.login("det.rivera").await;
    let (s, packs) = srv.get(&det, "/api/policy/packs").await;
    assert_eq!(s, StatusCode::OK, "{packs}");
    let ids: Vec<&str> = packs
        .as_array()
        .expect("packs")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "probity-core",
            "facial-recognition",
            "digital-cameras",
            "thermographic-cameras"
        ]
    );
    let mut cited = 0;
    let mut policies = 0;
    for p in packs.as_array().expect("packs") {
        let id = p["id"].as_str().expect("id");
        assert!(p["revision"].is_string(), "the release is recorded: {p}");
        policies += p["policy_count"].as_u64().expect("count");
        let (s, detail) = srv.get(&det, &format!("/api/policy/packs/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{detail}");
        for r in detail["rules"].as_array().expect("rules") {
            assert!(!r["text"].as_str().unwrap_or_default().is_empty(), "{r}");
            for c in r["policies"].as_array().expect("policies") {
                let pid = c["id"].as_str().expect("policy id");
                assert!(
                    pid.starts_with(&format!("{}.", r["id"].as_str().unwrap_or_default())),
                    "{pid} stands beside the rule it cites"
                );
                assert!(
                    c["text"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(&format!("@id(\"{pid}\")")),
                    "{c}"
                );
                cited += 1;
            }
        }
        assert!(detail["pack_toml"]
            .as_str()
            .unwrap_or_default()
            .contains("[pack]"));
        assert!(!detail["revisions"].as_array().expect("history").is_empty());
    }
    assert_eq!(cited, policies, "every Cedar policy cites a published rule");
    let (s, fr) = srv.get(&det, "/api/policy/packs/facial-recognition").await;
    assert_eq!(s, StatusCode::OK);
    let fr05 = fr["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["id"] == "FR-05"))
        .expect("FR-05");
    assert!(fr05["text"]
        .as_str()
        .unwrap_or_default()
        .contains("missing person"));
    assert!(fr["data"]["authorized_uses"]
        .as_array()
        .is_some_and(|u| u.len() == 6));

    // The page shows the same, to any signed-in person.
    let r = det
        .get(format!("{}/policy/facial-recognition", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(
        html.contains("id=\"rule-FR-05\""),
        "the FR-05 rule on the page"
    );
    assert!(
        html.contains("data-policy=\"FR-18.three-officials-decide\""),
        "FR-18's Cedar beside its rule"
    );
    let (s, _) = srv.get(&common::client(), "/api/policy/packs").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "signed-in people only");
}
both!(
    ovr_02_every_pack_readable_with_rules_beside_cedar,
    super::ovr_02_every_pack_readable_with_rules_beside_cedar_body
);

/// The core pack's texts in force, and a revision of them that lets records managers read the
/// oversight figures (OVR-03) from `date`.
async fn revised_core(
    srv: &common::TestServer,
    c: &reqwest::Client,
    version: &str,
    date: &str,
) -> (String, String, Value) {
    let (s, core) = srv.get(c, "/api/policy/packs/probity-core").await;
    assert_eq!(s, StatusCode::OK, "{core}");
    let toml = core["pack_toml"].as_str().expect("toml").to_string();
    let cedar = core["cedar"].as_str().expect("cedar").to_string();
    let old_version = core["version"].as_str().expect("version");
    let old_effective = core["effective"].as_str().expect("effective");
    let toml = toml
        .replacen(
            &format!("version = \"{old_version}\""),
            &format!("version = \"{version}\""),
            1,
        )
        .replacen(
            &format!("effective = {old_effective}"),
            &format!("effective = {date}"),
            1,
        )
        .replacen(
            "[[roles]]",
            &format!(
                "[[revisions]]\ndate = {date}\nkind = \"revision\"\ndescription = \"Records managers read the oversight statistics (OVR-03).\"\n\n[[roles]]"
            ),
            1,
        );
    let cedar = format!(
        "{cedar}\n@id(\"OVR-03.records-manager-reads-oversight\")\npermit (principal, action == Probity::Action::\"report.oversight\", resource)\nwhen {{ principal.roles.contains(\"records_manager\") && principal.kind == \"member\" }};\n"
    );
    (toml, cedar, core)
}

/// OVR-02: a revision is proposed, approved by the policy owner (never its proposer), takes
/// effect at the recorded time, and from then on the running engine decides by it; the history
/// and the diff show it.
async fn ovr_02_revision_approved_by_owner_takes_effect_at_recorded_time_body(backend: Backend) {
    let srv = common::start(backend).await;
    let apo = srv.login("apo.singh").await;
    let owner = srv.login("po.okafor").await;
    let rm = srv.login("rm.adeyemi").await;
    let (s, _) = srv.get(&rm, "/api/fr/oversight").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not allowed before the revision");

    let tomorrow = (srv.state.clock.now() + chrono::Duration::days(1)).date_naive();
    let (toml, cedar, before) = revised_core(&srv, &apo, "5", &tomorrow.to_string()).await;
    let proposal = json!({"pack_toml": toml, "cedar": cedar, "reason": "records managers answer oversight questions"});
    // Neither an investigator nor the administrator proposes.
    let det = srv.login("det.rivera").await;
    let (s, b) = srv
        .post(
            &det,
            "/api/policy/packs/probity-core/revisions",
            proposal.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) = srv
        .post(
            &apo,
            "/api/policy/packs/probity-core/revisions",
            proposal.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "proposed");
    assert_eq!(b["version"], "5");
    let id = b["id"].as_str().expect("id").to_string();
    // The same text twice is one proposal.
    let (s, _) = srv
        .post(
            &apo,
            "/api/policy/packs/probity-core/revisions",
            proposal.clone(),
        )
        .await;
    assert!(
        s == StatusCode::CONFLICT || s == StatusCode::BAD_REQUEST,
        "{s}"
    );

    // Proposed is not in force.
    let (s, _) = srv.get(&rm, "/api/fr/oversight").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The proposer never approves, even holding the right (the owner proposes, too).
    let approve = format!("/api/policy/revisions/{id}/approve");
    let (s, _) = srv.post(&apo, &approve, json!({"reason": "x"})).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the privacy officer does not approve"
    );
    let (s, b) = srv
        .post(
            &owner,
            &approve,
            json!({"reason": "agreed with the oversight unit", "effective_at": tomorrow.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "scheduled", "{b}");
    assert_eq!(b["decided_by"], "po.okafor");
    let (s, _) = srv.get(&rm, "/api/fr/oversight").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not before its effective time");
    let (_, packs) = srv.get(&rm, "/api/policy/packs").await;
    assert_eq!(packs[0]["version"], before["version"]);

    // The recorded time comes: the engine in force changes, with no restart.
    srv.state.clock.advance(chrono::Duration::days(2));
    let (s, b) = srv.get(&rm, "/api/fr/oversight").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, packs) = srv.get(&rm, "/api/policy/packs").await;
    assert_eq!(packs[0]["version"], "5");
    assert_eq!(packs[0]["revision"], id.as_str());
    let (_, core) = srv.get(&rm, "/api/policy/packs/probity-core").await;
    let history = core["revisions"].as_array().expect("history");
    assert_eq!(
        history.last().map(|r| r["status"].clone()),
        Some(json!("in_force"))
    );
    assert!(
        history.iter().any(|r| r["status"] == "superseded"),
        "{core}"
    );

    // The diff between the release and the revision shows exactly the change.
    let (s, d) = srv
        .get(&rm, &format!("/api/policy/packs/probity-core/diff?to={id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["from"]["version"], before["version"]);
    let added: Vec<&str> = d["cedar"]
        .as_array()
        .expect("cedar diff")
        .iter()
        .filter(|l| l["op"] == "+")
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(
        added.contains(&"@id(\"OVR-03.records-manager-reads-oversight\")"),
        "{added:?}"
    );
    assert!(d["cedar"]
        .as_array()
        .expect("diff")
        .iter()
        .all(|l| l["op"] != "-"));

    // The audit trail names the revision that decided each request: the refusals before the
    // revision by the release's core pack (deny by default), the read after it by revision 5.
    let auditor = srv.login("iab.walsh").await;
    let (s, entries) = srv
        .get(&auditor, "/api/audit?actor=user:rm.adeyemi&limit=500")
        .await;
    assert_eq!(s, StatusCode::OK, "{entries}");
    let oversight: Vec<&Value> = entries["items"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["policy"]["pack"] == "probity-core" && e["rule"].is_string())
        .collect();
    assert!(
        oversight.iter().any(|e| e["outcome"] == "denied"
            && e["policy"]["revision"] == before["revision"]
            && e["policy"]["version"] == before["version"]),
        "{entries}"
    );
    assert!(
        oversight.iter().any(|e| e["outcome"] == "success"
            && e["rule"] == "OVR-03.records-manager-reads-oversight"
            && e["policy"]["revision"] == id.as_str()
            && e["policy"]["version"] == "5"),
        "{entries}"
    );
    // The audit page shows it, linking to the revision in the pack's history.
    let page = auditor
        .get(format!("{}/audit?actor=user:rm.adeyemi", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("audit page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains(&format!("/policy/probity-core#rev-{id}"))
            && page.contains("probity-core version 5"),
        "the audit page links each entry to the revision that decided it"
    );

    // Every step is in the audit trail.
    let trail = srv.audit_of("policy_revision", &id).await;
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"policy.revision.propose"), "{actions:?}");
    assert!(actions.contains(&"policy.revision.approve"), "{actions:?}");

    // A restart keeps the revision in force (it is the store's, not the process's).
    let state = probity_server::build_state(srv.state.config.clone())
        .await
        .expect("restart on the same store");
    let now = chrono::Utc::now() + chrono::Duration::days(2);
    assert!(state
        .policy
        .at(now)
        .engine
        .pack("probity-core")
        .is_some_and(|p| p.version == "5"));
}
both!(
    ovr_02_revision_approved_by_owner_takes_effect_at_recorded_time,
    super::ovr_02_revision_approved_by_owner_takes_effect_at_recorded_time_body
);

/// OVR-02 (bad input): a revision that does not parse or does not validate is refused with the
/// file, line and reason; a reused version is refused; nothing is recorded.
async fn ovr_02_bad_revision_refused_with_line_and_reason_body(backend: Backend) {
    let srv = common::start(backend).await;
    let apo = srv.login("apo.singh").await;
    let (toml, cedar, _) = revised_core(&srv, &apo, "5", "2026-12-05").await;
    let path = "/api/policy/packs/probity-core/revisions";
    let line_of = |text: &str, needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .expect("needle")
    };

    // Cedar that does not parse: the policy's starting line is named.
    let broken = cedar.replace(
        "when { principal.roles.contains(\"records_manager\") && principal.kind == \"member\" };",
        "when { principal.roles.contains(\"records_manager\" && principal.kind == \"member\" };",
    );
    let (s, b) = srv
        .post(
            &apo,
            path,
            json!({"pack_toml": toml, "cedar": broken, "reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(rule_of(&b), "OVR-02");
    let at = line_of(&broken, "OVR-03.records-manager-reads-oversight");
    assert!(
        b["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("line {at}")),
        "names line {at}: {b}"
    );

    // Cedar that parses but names an action the schema does not have.
    let unknown = cedar.replace(
        "Probity::Action::\"report.oversight\", resource)\nwhen { principal.roles.contains(\"records_manager\")",
        "Probity::Action::\"report.everything\", resource)\nwhen { principal.roles.contains(\"records_manager\")",
    );
    let (s, b) = srv
        .post(
            &apo,
            path,
            json!({"pack_toml": toml, "cedar": unknown, "reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let at = line_of(&unknown, "OVR-03.records-manager-reads-oversight");
    let detail = b["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("line {at}")) && detail.contains("report.everything"),
        "{b}"
    );

    // A policy citing a rule no pack publishes.
    let uncited = cedar.replace("OVR-03.records-manager", "OVR-09.records-manager");
    let (s, b) = srv
        .post(
            &apo,
            path,
            json!({"pack_toml": toml, "cedar": uncited, "reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["detail"].as_str().unwrap_or_default().contains("OVR-09"),
        "{b}"
    );

    // TOML that does not parse: its line is named.
    let bad_toml = toml.replacen("[[roles]]", "[[roles]\n", 1);
    let (s, b) = srv
        .post(
            &apo,
            path,
            json!({"pack_toml": bad_toml, "cedar": cedar, "reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let at = line_of(&bad_toml, "[[roles]");
    assert!(
        b["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("line {at}")),
        "names line {at}: {b}"
    );

    // The version in force again.
    let (_, core) = srv.get(&apo, "/api/policy/packs/probity-core").await;
    let same = toml.replacen(
        "version = \"5\"",
        &format!(
            "version = \"{}\"",
            core["version"].as_str().unwrap_or_default()
        ),
        1,
    );
    let (s, b) = srv
        .post(
            &apo,
            path,
            json!({"pack_toml": same, "cedar": cedar, "reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("already recorded"),
        "{b}"
    );

    // No reason.
    let (s, b) = srv
        .post(&apo, path, json!({"pack_toml": toml, "cedar": cedar}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["missing"], json!(["reason"]));

    // Nothing of the above was recorded.
    let (_, core) = srv.get(&apo, "/api/policy/packs/probity-core").await;
    assert!(
        core["revisions"]
            .as_array()
            .expect("history")
            .iter()
            .all(|r| r["status"] != "proposed"),
        "{core}"
    );
}
both!(
    ovr_02_bad_revision_refused_with_line_and_reason,
    super::ovr_02_bad_revision_refused_with_line_and_reason_body
);
