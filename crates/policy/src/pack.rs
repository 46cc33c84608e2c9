//! Policy packs: each impact and use policy as versioned data with its revision history
//! (OVR-02), checked against the domain's closed lists when loaded.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::NaiveDate;
use probity_domain::{
    CaptureBasis, CaseRetentionRule, Course, DcPurpose, DisclosureBasis, FrAuthorizedUse, Keep,
    OffenceClassification, PersonalFileRetention, RetentionAnchor, RetentionEvent, RetentionRuleId,
    RobotDataRetention, Role, Technology, ThermalBasis,
};
use serde::{Deserialize, Serialize};

use crate::PolicyError;

/// The text of one pack as shipped: its TOML data and its Cedar policies.
#[derive(Debug, Clone)]
pub struct PackSource {
    /// File stem, e.g. `facial_recognition`.
    pub name: String,
    pub toml: String,
    pub cedar: String,
}

/// The packs embedded in the binary.
pub fn embedded_sources() -> Vec<PackSource> {
    macro_rules! pack {
        ($name:literal) => {
            PackSource {
                name: $name.to_string(),
                toml: include_str!(concat!("../packs/", $name, ".toml")).to_string(),
                cedar: include_str!(concat!("../packs/", $name, ".cedar")).to_string(),
            }
        };
    }
    vec![
        pack!("core"),
        pack!("facial_recognition"),
        pack!("digital_cameras"),
        pack!("thermographic_cameras"),
    ]
}

/// The Cedar schema embedded in the binary.
pub const EMBEDDED_SCHEMA: &str = include_str!("../packs/probity.cedarschema");

/// What a revision of a policy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevisionKind {
    /// Changes between the draft and the final policy.
    DraftToFinal,
    /// An addendum describing a new use (OVR-04).
    Addendum,
    /// A revision of the policy.
    Revision,
    /// A change of the machine-readable pack itself.
    Pack,
}

impl RevisionKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            RevisionKind::DraftToFinal => "draft_to_final",
            RevisionKind::Addendum => "addendum",
            RevisionKind::Revision => "revision",
            RevisionKind::Pack => "pack",
        }
    }
}

impl FromStr for RevisionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "draft_to_final" => Ok(RevisionKind::DraftToFinal),
            "addendum" => Ok(RevisionKind::Addendum),
            "revision" => Ok(RevisionKind::Revision),
            "pack" => Ok(RevisionKind::Pack),
            other => Err(format!(
                "unknown revision kind '{other}'; use one of: draft_to_final, addendum, revision, pack"
            )),
        }
    }
}

/// One entry of a pack's revision history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    pub date: NaiveDate,
    pub kind: RevisionKind,
    pub description: String,
}

/// One published rule in plain language (`FR-05`, `SEC-02`, ...), as the pack words it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleText {
    pub id: String,
    pub title: Option<String>,
    pub text: String,
}

impl RuleText {
    /// The rule a Cedar `@id` cites: `FR-05.fr-investigator-confirms` → `FR-05`.
    pub fn cited_by(policy_id: &str) -> &str {
        policy_id
            .split_once('.')
            .map_or(policy_id, |(rule, _)| rule)
    }
}

/// A role as the policy describes it, with the training its holders need for the technology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackRole {
    pub role: Role,
    pub duties: String,
    pub training: Vec<Course>,
}

/// An entry of a closed list with the policy's wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Worded<K> {
    pub key: K,
    pub number: Option<u8>,
    pub wording: String,
}

/// A retention rule with the schedule's wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionText {
    pub rule: RetentionRuleId,
    pub text: String,
}

/// The part of the retention schedule a pack carries (RET-01..RET-10). The packs in force
/// together make the whole [`probity_domain::RetentionSchedule`] the running system applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackSchedule {
    pub cases: Vec<CaseRetentionRule>,
    pub personal_files: Option<PersonalFileRetention>,
    pub robot_data: Option<RobotDataRetention>,
}

/// A machine-readable impact and use policy (OVR-02).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyPack {
    pub id: String,
    pub title: String,
    /// The technology governed; `None` for the core pack of shared rules.
    pub technology: Option<Technology>,
    pub version: String,
    pub effective: NaiveDate,
    /// Where the published text is.
    pub source: String,
    /// The closure reasons as the policy words them.
    pub closure_rule: String,
    /// Oldest first; the last entry is the version in force.
    pub revisions: Vec<Revision>,
    pub roles: Vec<PackRole>,
    pub authorized_uses: Vec<Worded<FrAuthorizedUse>>,
    pub purposes: Vec<Worded<DcPurpose>>,
    pub capture_bases: Vec<Worded<String>>,
    pub deployment_bases: Vec<Worded<ThermalBasis>>,
    pub retention_rules: Vec<RetentionText>,
    /// The periods the running system applies, as data.
    pub retention_schedule: PackSchedule,
    pub disclosure_bases: Vec<Worded<DisclosureBasis>>,
    /// The Cedar policy text of this pack.
    pub cedar: String,
    /// The `@id` of every policy of this pack, in file order.
    pub policy_ids: Vec<String>,
    /// The published rules in plain language, each beside the Cedar that cites it (OVR-02).
    pub rules: Vec<RuleText>,
    /// The TOML text this pack was read from (shown and compared between revisions).
    pub toml: String,
    /// The evaluation an algorithm must meet before it may be activated (FR-23; facial
    /// recognition pack only).
    pub algorithm_gate: Option<AlgorithmGate>,
}

/// The limits of the FR-23 activation gate, as fractions (0.95 = 95 %). A limit left out is
/// not checked. The face crate's `governance::Gate` applies them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AlgorithmGate {
    /// Lowest verification accuracy (mean over the folds).
    pub min_verification_accuracy: Option<f64>,
    /// Lowest true accept rate at the evaluation's fixed false accept rate.
    pub min_tar_at_far: Option<f64>,
    /// Lowest rank-1 identification rate.
    pub min_rank1: Option<f64>,
    /// Highest FNIR at the evaluation's fixed FPIR.
    pub max_fnir_at_fpir: Option<f64>,
    /// Largest difference of verification accuracy between demographic groups.
    pub max_group_differential: Option<f64>,
    /// Refuse an evaluation without per-group figures.
    #[serde(default)]
    pub require_groups: bool,
}

impl PolicyPack {
    /// The policy's wording of an authorized use (FR-05), from the pack in force.
    pub fn authorized_use_wording(&self, u: FrAuthorizedUse) -> Option<&str> {
        self.authorized_uses
            .iter()
            .find(|w| w.key == u)
            .map(|w| w.wording.as_str())
    }
}

// ------------------------------------------------------------------ file format

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    pack: Header,
    revisions: Vec<RevisionFile>,
    roles: Vec<RoleFile>,
    #[serde(default)]
    authorized_uses: Vec<WordedFile>,
    #[serde(default)]
    purposes: Vec<WordedFile>,
    #[serde(default)]
    capture_bases: Vec<WordedFile>,
    #[serde(default)]
    deployment_bases: Vec<WordedFile>,
    retention_rules: Vec<RetentionFile>,
    #[serde(default)]
    retention_schedule: ScheduleFile,
    disclosure_bases: Vec<WordedFile>,
    #[serde(default)]
    algorithm_gate: Option<AlgorithmGate>,
    rules: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    title: Option<String>,
    text: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    #[serde(default)]
    cases: Vec<CaseLineFile>,
    personal_files: Option<PersonalFileLine>,
    robot_data: Option<RobotLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseLineFile {
    rule: String,
    classifications: Vec<String>,
    /// `permanent`, `until_event` (with `event`) or `years_after` (with `years` and `from`).
    keep: String,
    event: Option<String>,
    years: Option<u32>,
    from: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonalFileLine {
    rule: String,
    years_after_death: u32,
    years_after_birth: u32,
    arrest_free_years: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RobotLine {
    rule: String,
    days: u32,
}

fn schedule(p: &str, f: &ScheduleFile) -> Result<PackSchedule, PolicyError> {
    let table = "retention_schedule.cases";
    let mut cases = Vec::new();
    for line in &f.cases {
        let rule_id: RetentionRuleId = parse_key(p, table, &line.rule)?;
        let classifications = line
            .classifications
            .iter()
            .map(|c| parse_key::<OffenceClassification>(p, table, c))
            .collect::<Result<Vec<_>, _>>()?;
        if classifications.is_empty() {
            return Err(PolicyError::pack(
                p,
                format!("[[{table}]] {rule_id}: no classifications"),
            ));
        }
        let keep = match (line.keep.as_str(), &line.event, line.years, &line.from) {
            ("permanent", None, None, None) => Keep::Permanent,
            ("until_event", Some(e), None, None) => Keep::UntilEvent {
                event: parse_key::<RetentionEvent>(p, table, e)?,
            },
            ("years_after", None, Some(years), Some(from)) => Keep::YearsAfter {
                years,
                from: parse_key::<RetentionAnchor>(p, table, from)?,
            },
            (k, ..) => {
                return Err(PolicyError::pack(
                    p,
                    format!(
                        "[[{table}]] {rule_id}: keep = {k:?} takes: permanent (nothing else), \
                         until_event (event), or years_after (years and from)"
                    ),
                ))
            }
        };
        cases.push(CaseRetentionRule {
            rule_id,
            classifications,
            keep,
        });
    }
    let personal_files = f
        .personal_files
        .as_ref()
        .map(|l| {
            Ok::<_, PolicyError>(PersonalFileRetention {
                rule_id: parse_key(p, "retention_schedule.personal_files", &l.rule)?,
                years_after_death: l.years_after_death,
                years_after_birth: l.years_after_birth,
                arrest_free_years: l.arrest_free_years,
            })
        })
        .transpose()?;
    let robot_data = f
        .robot_data
        .as_ref()
        .map(|l| {
            Ok::<_, PolicyError>(RobotDataRetention {
                rule_id: parse_key(p, "retention_schedule.robot_data", &l.rule)?,
                days: l.days,
            })
        })
        .transpose()?;
    Ok(PackSchedule {
        cases,
        personal_files,
        robot_data,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    id: String,
    title: String,
    technology: Option<String>,
    version: String,
    effective: toml::value::Datetime,
    source: String,
    cedar: String,
    closure_rule: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevisionFile {
    date: toml::value::Datetime,
    kind: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    role: String,
    duties: String,
    training: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordedFile {
    key: String,
    number: Option<u8>,
    wording: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionFile {
    rule: String,
    text: String,
}

fn date(pack: &str, field: &str, d: &toml::value::Datetime) -> Result<NaiveDate, PolicyError> {
    match (d.date, d.time) {
        (Some(x), None) => {
            NaiveDate::from_ymd_opt(i32::from(x.year), u32::from(x.month), u32::from(x.day))
                .ok_or_else(|| {
                    PolicyError::pack(pack, format!("{field}: {d} is not a calendar date"))
                })
        }
        _ => Err(PolicyError::pack(
            pack,
            format!("{field}: give a plain date (YYYY-MM-DD), not '{d}'"),
        )),
    }
}

fn parse_key<K: FromStr>(pack: &str, table: &str, key: &str) -> Result<K, PolicyError>
where
    K::Err: std::fmt::Display,
{
    key.parse()
        .map_err(|e| PolicyError::pack(pack, format!("[[{table}]] key '{key}': {e}")))
}

fn worded<K: FromStr>(
    pack: &str,
    table: &str,
    rows: &[WordedFile],
) -> Result<Vec<Worded<K>>, PolicyError>
where
    K::Err: std::fmt::Display,
{
    rows.iter()
        .map(|r| {
            if r.wording.trim().is_empty() {
                return Err(PolicyError::pack(
                    pack,
                    format!("[[{table}]] '{}' has no wording", r.key),
                ));
            }
            Ok(Worded {
                key: parse_key(pack, table, &r.key)?,
                number: r.number,
                wording: r.wording.clone(),
            })
        })
        .collect()
}

/// Checks a list holds each of `all` exactly once (numbered 1.. in order when `numbered`).
fn exactly<K: Ord + Copy + std::fmt::Display>(
    pack: &str,
    table: &str,
    rows: &[Worded<K>],
    all: &[K],
    numbered: bool,
) -> Result<(), PolicyError> {
    let keys: Vec<K> = rows.iter().map(|r| r.key).collect();
    let set: BTreeSet<K> = keys.iter().copied().collect();
    let want: BTreeSet<K> = all.iter().copied().collect();
    if set.len() != keys.len() {
        return Err(PolicyError::pack(
            pack,
            format!("[[{table}]] lists an entry twice"),
        ));
    }
    if set != want {
        let missing: Vec<String> = want.difference(&set).map(|k| k.to_string()).collect();
        return Err(PolicyError::pack(
            pack,
            format!(
                "[[{table}]] must list the closed list exactly; missing: {}",
                missing.join(", ")
            ),
        ));
    }
    if numbered {
        for (i, r) in rows.iter().enumerate() {
            if r.number.map(usize::from) != Some(i + 1) {
                return Err(PolicyError::pack(
                    pack,
                    format!("[[{table}]] '{}' must be number {}", r.key, i + 1),
                ));
            }
        }
    }
    Ok(())
}

/// Parses and checks the data part of a pack (not its Cedar text).
pub(crate) fn parse_pack(src: &PackSource) -> Result<PolicyPack, PolicyError> {
    let name = src.name.as_str();
    let f: PackFile =
        toml::from_str(&src.toml).map_err(|e| PolicyError::pack(name, format!("TOML: {e}")))?;
    let id = f.pack.id.clone();
    let p = id.as_str();
    if f.pack.cedar != format!("{name}.cedar") {
        return Err(PolicyError::pack(
            p,
            format!(
                "cedar = {:?}, but the pack's policies ship as {name}.cedar",
                f.pack.cedar
            ),
        ));
    }
    if f.pack.version.trim().is_empty() {
        return Err(PolicyError::pack(p, "version is empty"));
    }
    let effective = date(p, "effective", &f.pack.effective)?;
    let technology = f
        .pack
        .technology
        .as_deref()
        .map(|t| parse_key::<Technology>(p, "pack", t))
        .transpose()?;

    let revisions = f
        .revisions
        .iter()
        .map(|r| {
            Ok(Revision {
                date: date(p, "revisions.date", &r.date)?,
                kind: parse_key(p, "revisions", &r.kind)?,
                description: r.description.clone(),
            })
        })
        .collect::<Result<Vec<_>, PolicyError>>()?;
    let Some(last) = revisions.last() else {
        return Err(PolicyError::pack(
            p,
            "the revision history is empty (OVR-02)",
        ));
    };
    if revisions.windows(2).any(|w| w[0].date > w[1].date) {
        return Err(PolicyError::pack(
            p,
            "revisions must be listed oldest first",
        ));
    }
    if last.date != effective {
        return Err(PolicyError::pack(
            p,
            format!(
                "the latest revision ({}) must be the effective date ({effective})",
                last.date
            ),
        ));
    }
    if revisions.iter().any(|r| r.description.trim().is_empty()) {
        return Err(PolicyError::pack(p, "a revision has no description"));
    }

    let roles = f
        .roles
        .iter()
        .map(|r| {
            let role: Role = parse_key(p, "roles", &r.role)?;
            let training = r
                .training
                .iter()
                .map(|c| parse_key::<Course>(p, "roles.training", c))
                .collect::<Result<Vec<_>, _>>()?;
            // The domain's role requirements (FR-21) must be stated by the pack too.
            for c in role.requirements().courses {
                if !training.contains(c) {
                    return Err(PolicyError::pack(
                        p,
                        format!("role {role} requires training '{c}' (FR-21, OVR-01) but the pack omits it"),
                    ));
                }
            }
            Ok(PackRole {
                role,
                duties: r.duties.clone(),
                training,
            })
        })
        .collect::<Result<Vec<_>, PolicyError>>()?;

    let authorized_uses: Vec<Worded<FrAuthorizedUse>> =
        worded(p, "authorized_uses", &f.authorized_uses)?;
    let purposes: Vec<Worded<DcPurpose>> = worded(p, "purposes", &f.purposes)?;
    let capture_bases: Vec<Worded<String>> = worded(p, "capture_bases", &f.capture_bases)?;
    let deployment_bases: Vec<Worded<ThermalBasis>> =
        worded(p, "deployment_bases", &f.deployment_bases)?;
    let disclosure_bases: Vec<Worded<DisclosureBasis>> =
        worded(p, "disclosure_bases", &f.disclosure_bases)?;
    let retention_rules = f
        .retention_rules
        .iter()
        .map(|r| {
            Ok(RetentionText {
                rule: parse_key(p, "retention_rules", &r.rule)?,
                text: r.text.clone(),
            })
        })
        .collect::<Result<Vec<_>, PolicyError>>()?;

    // EXT-03: every policy discloses identifying information on the same seven bases.
    exactly(
        p,
        "disclosure_bases",
        &disclosure_bases,
        DisclosureBasis::ALL,
        true,
    )?;
    match technology {
        Some(Technology::FacialRecognition) => {
            // FR-05: the closed list, with the policy's exact wording, as the domain enforces it.
            exactly(
                p,
                "authorized_uses",
                &authorized_uses,
                FrAuthorizedUse::ALL,
                true,
            )?;
            for u in &authorized_uses {
                if u.wording != u.key.wording() {
                    return Err(PolicyError::pack(
                        p,
                        format!(
                            "FR-05: the wording of authorized use '{}' differs from the rule in force; \
                             pack: {:?}, domain: {:?}",
                            u.key,
                            u.wording,
                            u.key.wording()
                        ),
                    ));
                }
            }
        }
        Some(Technology::DigitalCameras) => {
            exactly(p, "purposes", &purposes, DcPurpose::ALL, false)?;
            let keys: BTreeSet<&str> = capture_bases.iter().map(|b| b.key.as_str()).collect();
            let want: BTreeSet<&str> = CaptureBasis::KINDS.iter().copied().collect();
            if keys != want || keys.len() != capture_bases.len() {
                return Err(PolicyError::pack(
                    p,
                    format!(
                        "DC-02: [[capture_bases]] must be exactly {}",
                        CaptureBasis::KINDS.join(", ")
                    ),
                ));
            }
        }
        Some(Technology::ThermographicCameras) => {
            exactly(
                p,
                "deployment_bases",
                &deployment_bases,
                ThermalBasis::ALL,
                false,
            )?;
        }
        None => {}
    }
    if technology != Some(Technology::FacialRecognition) && !authorized_uses.is_empty() {
        return Err(PolicyError::pack(
            p,
            "[[authorized_uses]] belong to the facial recognition pack",
        ));
    }
    if retention_rules.is_empty() {
        return Err(PolicyError::pack(p, "no [[retention_rules]] (OVR-02)"));
    }
    let retention_schedule = schedule(p, &f.retention_schedule)?;
    if let Some(g) = &f.algorithm_gate {
        if technology != Some(Technology::FacialRecognition) {
            return Err(PolicyError::pack(
                p,
                "[algorithm_gate] belongs to the facial recognition pack (FR-23)",
            ));
        }
        for (name, v) in [
            ("min_verification_accuracy", g.min_verification_accuracy),
            ("min_tar_at_far", g.min_tar_at_far),
            ("min_rank1", g.min_rank1),
            ("max_fnir_at_fpir", g.max_fnir_at_fpir),
            ("max_group_differential", g.max_group_differential),
        ] {
            if let Some(x) = v {
                if !x.is_finite() || !(0.0..=1.0).contains(&x) {
                    return Err(PolicyError::pack(
                        p,
                        format!("[algorithm_gate] {name} = {x}: give a fraction between 0 and 1 (FR-23)"),
                    ));
                }
            }
        }
    }
    // Every period applied must have its words in the same pack.
    let worded: BTreeSet<RetentionRuleId> = retention_rules.iter().map(|r| r.rule).collect();
    let applied = retention_schedule
        .cases
        .iter()
        .map(|c| c.rule_id)
        .chain(retention_schedule.personal_files.map(|x| x.rule_id))
        .chain(retention_schedule.robot_data.map(|x| x.rule_id));
    for r in applied {
        if !worded.contains(&r) {
            return Err(PolicyError::pack(
                p,
                format!("[retention_schedule] applies {r}, which has no [[retention_rules]] text"),
            ));
        }
    }

    let mut rules = Vec::new();
    let mut rule_ids = BTreeSet::new();
    for r in f.rules {
        let well_formed = r.id.split_once('-').is_some_and(|(letters, digits)| {
            (2..=3).contains(&letters.len())
                && letters.bytes().all(|b| b.is_ascii_uppercase())
                && digits.len() == 2
                && digits.bytes().all(|b| b.is_ascii_digit())
        });
        if !well_formed {
            return Err(PolicyError::pack(
                p,
                format!(
                    "[[rules]] id {:?} must be a rule ID such as FR-05 (OVR-02)",
                    r.id
                ),
            ));
        }
        if !rule_ids.insert(r.id.clone()) {
            return Err(PolicyError::pack(
                p,
                format!("[[rules]] {} is listed twice", r.id),
            ));
        }
        if r.text.trim().is_empty() {
            return Err(PolicyError::pack(
                p,
                format!("[[rules]] {} has no text (OVR-02)", r.id),
            ));
        }
        rules.push(RuleText {
            id: r.id,
            title: r.title.filter(|t| !t.trim().is_empty()),
            text: r.text,
        });
    }

    Ok(PolicyPack {
        id,
        title: f.pack.title,
        technology,
        version: f.pack.version,
        effective,
        source: f.pack.source,
        closure_rule: f.pack.closure_rule,
        revisions,
        roles,
        authorized_uses,
        purposes,
        capture_bases,
        deployment_bases,
        retention_rules,
        retention_schedule,
        disclosure_bases,
        cedar: src.cedar.clone(),
        policy_ids: Vec::new(),
        algorithm_gate: f.algorithm_gate,
        rules,
        toml: src.toml.clone(),
    })
}
