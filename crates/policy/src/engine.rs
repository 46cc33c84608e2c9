//! The decision engine: "may principal P do action A on resource R, and if not, which rule
//! refused". Cedar evaluates the policies of every pack; deny by default.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context as CedarContext, Entities, Entity, EntityUid, Policy, PolicyId, PolicySet,
    Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use probity_domain::{
    Case, CaseId, CommandCode, Course, EffectiveAccess, FrRequestId, Person, PersonKind,
    RetentionSchedule, Role, Technology, UserId,
};
use serde::Serialize;

use crate::pack::{
    embedded_sources, parse_pack, PackSource, PolicyPack, RuleText, EMBEDDED_SCHEMA,
};
use crate::{Action, PolicyError, ResourceKind};

const NS: &str = "Probity";

/// Who asks: derived from [`EffectiveAccess`] at this instant, never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user: UserId,
    pub kind: PersonKind,
    pub roles: BTreeSet<Role>,
    /// Commands in which any role is held now.
    pub commands: BTreeSet<CommandCode>,
    /// Commands in which the investigator role is held now.
    pub investigator_commands: BTreeSet<CommandCode>,
    /// Commands in which the supervisor role is held now.
    pub supervisor_commands: BTreeSet<CommandCode>,
    /// Commands in which the commanding officer role is held now (SEC-05).
    pub commanding_officer_commands: BTreeSet<CommandCode>,
    /// A role is held now in the Intelligence Division (FR-25).
    pub intelligence_division: bool,
    /// Courses valid today (OVR-01).
    pub courses: BTreeSet<Course>,
    /// A vendor contract or agency agreement is in force (EXT-06, EXT-07).
    pub contract_active: bool,
    pub contract_scope: BTreeSet<Technology>,
}

impl Principal {
    /// The principal of a person with the access [`probity_domain::effective_roles`] derived.
    pub fn from_access(person: &Person, access: &EffectiveAccess) -> Principal {
        Principal {
            user: person.id,
            kind: person.kind,
            roles: access.roles(),
            commands: access.commands(),
            investigator_commands: access.commands_with_role(Role::Investigator),
            supervisor_commands: access.commands_with_role(Role::Supervisor),
            commanding_officer_commands: access.commands_with_role(Role::CommandingOfficer),
            intelligence_division: access.intelligence_division,
            courses: access.valid_courses.clone(),
            contract_active: access.contract_active,
            contract_scope: access.contract_scope.clone(),
        }
    }
}

/// The case a resource belongs to, as far as authorization needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseRef {
    pub id: CaseId,
    pub command: CommandCode,
    pub assigned_investigator: Option<UserId>,
    /// FR-25: only the Intelligence Division may see or use it.
    pub political_activity: bool,
}

impl CaseRef {
    pub fn of(case: &Case) -> CaseRef {
        CaseRef {
            id: case.id,
            command: case.command.clone(),
            assigned_investigator: case.assigned_investigator,
            political_activity: case.political_activity,
        }
    }
}

/// What the action is done to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resource {
    /// System-wide: lists, the audit trail, reports, the photo repository, FOIL, retention.
    System,
    /// An account as the object of administration.
    Account {
        user: UserId,
    },
    Case(CaseRef),
    /// `technology`: `None` for evidence from no governed technology (e.g. business CCTV).
    Evidence {
        id: String,
        case: CaseRef,
        technology: Option<Technology>,
    },
    /// A camera or thermal device and the command holding it (DC-04).
    Device {
        id: String,
        command: CommandCode,
        technology: Technology,
    },
    FrRequest {
        id: FrRequestId,
        case: CaseRef,
        requester: UserId,
    },
    /// `authorization_in_force`: the domain's `DeploymentAuthorization::covers(now)` (TH-05).
    ThermalDeployment {
        id: String,
        command: CommandCode,
        authorization_in_force: bool,
    },
    Disclosure {
        id: String,
        case: CaseRef,
        created_by: UserId,
    },
    /// One technology as the object of maintenance (EXT-06).
    Technology(Technology),
    /// What a focused audit covers (SEC-05): the commands of the people and cases it names, or
    /// the whole Department when it names none.
    AuditScope {
        commands: BTreeSet<CommandCode>,
        department_wide: bool,
    },
    /// A command as a whole: its areas with computer systems and their tour inspections (SEC-06).
    Command(CommandCode),
}

impl Resource {
    pub fn kind(&self) -> ResourceKind {
        match self {
            Resource::System => ResourceKind::System,
            Resource::Account { .. } => ResourceKind::Account,
            Resource::Case(_) => ResourceKind::Case,
            Resource::Evidence { .. } => ResourceKind::Evidence,
            Resource::Device { .. } => ResourceKind::Device,
            Resource::FrRequest { .. } => ResourceKind::FrRequest,
            Resource::ThermalDeployment { .. } => ResourceKind::ThermalDeployment,
            Resource::Disclosure { .. } => ResourceKind::Disclosure,
            Resource::Technology(_) => ResourceKind::Technology,
            Resource::AuditScope { .. } => ResourceKind::AuditScope,
            Resource::Command(_) => ResourceKind::Command,
        }
    }
}

/// Facts about the request itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Context {
    /// The session comes from outside the configured local networks (SEC-01).
    pub remote: bool,
    /// The session passed a second factor (SEC-01).
    pub second_factor: bool,
}

/// The outcome of [`PolicyEngine::decide`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// The `@id` of the policy that permitted or forbade, or
    /// `deny-by-default: no policy permits <action> for roles [...]`.
    pub rule: String,
    /// Every policy that determined the decision (permits when allowed, forbids when denied).
    pub rules: Vec<String>,
    pub action: Action,
}

impl Decision {
    fn deny(action: Action, rule: String) -> Decision {
        Decision {
            allowed: false,
            rules: vec![rule.clone()],
            rule,
            action,
        }
    }

    /// A message for the user: `forbidden: case.read refused by FR-25.political-...`.
    pub fn message(&self) -> String {
        if self.allowed {
            format!("{} allowed by {}", self.action, self.rule)
        } else {
            format!("forbidden: {} refused by {}", self.action, self.rule)
        }
    }
}

/// The loaded policy packs and the Cedar policies of all of them.
pub struct PolicyEngine {
    packs: Vec<PolicyPack>,
    /// The retention schedule the packs make together; `None` when they make no whole one.
    schedule: Option<RetentionSchedule>,
    policies: PolicySet,
    /// For each action, the policies whose action scope can match it (`action`, `action == A`,
    /// `action in [.., A, ..]`): the others are not applicable to a request for A, so asking only
    /// these gives the same answer, rules and errors, without evaluating every policy of every
    /// pack on every request. Empty when the schema has action groups (then the whole set is
    /// asked, as an `in` would need the group hierarchy).
    by_action: HashMap<Action, PolicySet>,
    schema: Schema,
    authorizer: Authorizer,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field(
                "packs",
                &self
                    .packs
                    .iter()
                    .map(|p| (&p.id, &p.version))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn uid(ty: &str, id: &str) -> Result<EntityUid, PolicyError> {
    let name = cedar_policy::EntityTypeName::from_str(&format!("{NS}::{ty}"))
        .map_err(|e| PolicyError::Schema(format!("entity type {ty}: {e}")))?;
    Ok(EntityUid::from_type_name_and_id(
        name,
        cedar_policy::EntityId::new(id),
    ))
}

fn user_uid(u: UserId) -> Result<EntityUid, PolicyError> {
    uid("User", &u.to_string())
}

fn str_set<'a>(items: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(
        items
            .into_iter()
            .map(|s| RestrictedExpression::new_string(s.to_string())),
    )
}

fn s(v: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(v.to_string())
}

fn case_attrs(
    c: &CaseRef,
    attrs: &mut HashMap<String, RestrictedExpression>,
) -> Result<(), PolicyError> {
    attrs.insert("case_command".into(), s(c.command.as_str()));
    attrs.insert(
        "political_activity".into(),
        RestrictedExpression::new_bool(c.political_activity),
    );
    if let Some(a) = c.assigned_investigator {
        attrs.insert(
            "assigned_investigator".into(),
            RestrictedExpression::new_entity_uid(user_uid(a)?),
        );
    }
    Ok(())
}

impl PolicyEngine {
    /// Loads the packs embedded in the binary. A broken pack is an error naming the pack and
    /// what is wrong; the server must refuse to start on it.
    pub fn load() -> Result<PolicyEngine, PolicyError> {
        PolicyEngine::from_packs(&embedded_sources())
    }

    /// Loads the given pack texts (a revision in force, or one proposed) against the schema of
    /// this binary, with the same checks as [`PolicyEngine::load`].
    pub fn from_packs(sources: &[PackSource]) -> Result<PolicyEngine, PolicyError> {
        let engine = PolicyEngine::from_sources(EMBEDDED_SCHEMA, sources)?;
        if engine.schedule.is_none() {
            return Err(PolicyError::pack(
                "probity-core",
                "the packs in force make no whole retention schedule: [retention_schedule] needs \
                 the case lines and personal files (core) and robot data (thermographic cameras)",
            ));
        }
        Ok(engine)
    }

    /// The retention schedule in force (RET-01..RET-10), from the packs' data. Always present on
    /// an engine from [`PolicyEngine::load`].
    pub fn retention_schedule(&self) -> Option<&RetentionSchedule> {
        self.schedule.as_ref()
    }

    /// Loads packs from the given texts (used by `load` and by tests of broken packs).
    pub fn from_sources(
        schema_text: &str,
        sources: &[PackSource],
    ) -> Result<PolicyEngine, PolicyError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(schema_text)
            .map_err(|e| PolicyError::Schema(format!("{e:?}")))?;
        let mut policies = PolicySet::new();
        let mut packs = Vec::new();
        let mut ids = BTreeSet::new();
        for src in sources {
            let mut pack = parse_pack(src)?;
            if packs.iter().any(|p: &PolicyPack| p.id == pack.id) {
                return Err(PolicyError::pack(&pack.id, "two packs have this id"));
            }
            let parsed = PolicySet::from_str(&src.cedar).map_err(|e| PolicyError::CedarParse {
                pack: pack.id.clone(),
                message: match first_unparsable_line(&src.cedar) {
                    Some(line) => format!(
                        "in the policy starting at line {line} of {}.cedar: {}",
                        src.name,
                        miette_text(&e)
                    ),
                    None => miette_text(&e),
                },
            })?;
            if parsed.templates().next().is_some() {
                return Err(PolicyError::pack(
                    &pack.id,
                    "Cedar templates are not used in policy packs",
                ));
            }
            // Keep file order: policies() iterates in arbitrary order, so sort by source position.
            let mut in_file: Vec<&Policy> = parsed.policies().collect();
            in_file.sort_by_key(|p| p.to_string().len());
            in_file.sort_by_key(|p| {
                p.annotation("id")
                    .and_then(|id| src.cedar.find(&format!("@id(\"{id}\")")))
                    .unwrap_or(usize::MAX)
            });
            for policy in in_file {
                let Some(id) = policy.annotation("id") else {
                    return Err(PolicyError::pack(
                        &pack.id,
                        format!("a policy has no @id annotation naming its rule: {policy}"),
                    ));
                };
                if !rule_id_well_formed(id) {
                    return Err(PolicyError::pack(
                        &pack.id,
                        format!("@id(\"{id}\") must start with a rule ID and a dot, e.g. SEC-02.case-read-assigned"),
                    ));
                }
                if !ids.insert(id.to_string()) {
                    return Err(PolicyError::pack(
                        &pack.id,
                        format!("@id(\"{id}\") is used twice"),
                    ));
                }
                pack.policy_ids.push(id.to_string());
                policies
                    .add(policy.new_id(PolicyId::new(id)))
                    .map_err(|e| PolicyError::pack(&pack.id, format!("policy {id}: {e}")))?;
            }
            packs.push(pack);
        }
        // Every policy enforces a published rule: its @id must cite a rule whose plain-language
        // text one of the packs carries (OVR-02).
        let published: BTreeSet<&str> = packs
            .iter()
            .flat_map(|p| p.rules.iter().map(|r| r.id.as_str()))
            .collect();
        for pack in &packs {
            if let Some(id) = pack
                .policy_ids
                .iter()
                .find(|id| !published.contains(RuleText::cited_by(id)))
            {
                return Err(PolicyError::pack(
                    &pack.id,
                    format!(
                        "@id(\"{id}\") cites {}, which no pack publishes in [[rules]] (OVR-02)",
                        RuleText::cited_by(id)
                    ),
                ));
            }
        }
        let schedule = whole_schedule(&packs)?;
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            // Say where: the pack and line of the policy each error is about.
            let place = |id: &str| {
                sources.iter().find_map(|s| {
                    let at = s.cedar.find(&format!("@id(\"{id}\")"))?;
                    let line = s.cedar[..at].bytes().filter(|b| *b == b'\n').count() + 1;
                    Some(format!("{}.cedar line {line}", s.name))
                })
            };
            let errs: Vec<String> = result
                .validation_errors()
                .map(|e| {
                    let id = e.policy_id().to_string();
                    match place(&id) {
                        Some(at) => format!("{at} ({id}): {e}"),
                        None => format!("{id}: {e}"),
                    }
                })
                .collect();
            return Err(PolicyError::Validation(errs.join("; ")));
        }
        let by_action = policies_by_action(&policies, &schema)?;
        Ok(PolicyEngine {
            packs,
            schedule,
            policies,
            by_action,
            schema,
            authorizer: Authorizer::new(),
        })
    }

    /// The packs in force, core first.
    pub fn packs(&self) -> &[PolicyPack] {
        &self.packs
    }

    pub fn pack(&self, id: &str) -> Option<&PolicyPack> {
        self.packs.iter().find(|p| p.id == id)
    }

    /// The pack whose Cedar holds the policy `rule` (an `@id`); a decision no policy made
    /// (deny by default) belongs to the core pack, whose rule SEC-02 it applies.
    pub fn pack_of_rule(&self, rule: &str) -> Option<&PolicyPack> {
        self.packs
            .iter()
            .find(|p| p.policy_ids.iter().any(|id| id == rule))
            .or_else(|| self.packs.first())
    }

    /// The pack governing a technology.
    pub fn pack_for(&self, technology: Technology) -> Option<&PolicyPack> {
        self.packs.iter().find(|p| p.technology == Some(technology))
    }

    /// The Cedar policies in force.
    pub fn policy_set(&self) -> &PolicySet {
        &self.policies
    }

    /// Decides whether `principal` may do `action` on `resource`. Deny by default; a denial
    /// names the rule. Never fails: a malformed request is denied and says why.
    pub fn decide(
        &self,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        context: &Context,
    ) -> Decision {
        if resource.kind() != action.resource_kind() {
            return Decision::deny(
                action,
                format!(
                    "invalid-request: {action} applies to a {} resource, not a {}",
                    action.resource_kind().cedar_type(),
                    resource.kind().cedar_type()
                ),
            );
        }
        let policies = self.by_action.get(&action).unwrap_or(&self.policies);
        match self.evaluate(policies, principal, action, resource, context) {
            Ok(d) => d,
            Err(e) => Decision::deny(action, format!("invalid-request: {e}")),
        }
    }

    fn evaluate(
        &self,
        policies: &PolicySet,
        principal: &Principal,
        action: Action,
        resource: &Resource,
        context: &Context,
    ) -> Result<Decision, PolicyError> {
        let p_uid = user_uid(principal.user)?;
        let mut pa: HashMap<String, RestrictedExpression> = HashMap::new();
        pa.insert("kind".into(), s(principal.kind.as_str()));
        pa.insert(
            "roles".into(),
            str_set(principal.roles.iter().map(|r| r.as_str())),
        );
        pa.insert(
            "commands".into(),
            str_set(principal.commands.iter().map(|c| c.as_str())),
        );
        pa.insert(
            "investigator_commands".into(),
            str_set(principal.investigator_commands.iter().map(|c| c.as_str())),
        );
        pa.insert(
            "supervisor_commands".into(),
            str_set(principal.supervisor_commands.iter().map(|c| c.as_str())),
        );
        pa.insert(
            "commanding_officer_commands".into(),
            str_set(
                principal
                    .commanding_officer_commands
                    .iter()
                    .map(|c| c.as_str()),
            ),
        );
        pa.insert(
            "intelligence_division".into(),
            RestrictedExpression::new_bool(principal.intelligence_division),
        );
        pa.insert(
            "courses".into(),
            str_set(principal.courses.iter().map(|c| c.as_str())),
        );
        pa.insert(
            "contract_active".into(),
            RestrictedExpression::new_bool(principal.contract_active),
        );
        pa.insert(
            "contract_scope".into(),
            str_set(principal.contract_scope.iter().map(|t| t.as_str())),
        );
        let principal_entity = Entity::new(p_uid.clone(), pa, HashSet::new())
            .map_err(|e| PolicyError::Validation(e.to_string()))?;

        let mut ra: HashMap<String, RestrictedExpression> = HashMap::new();
        let r_uid = match resource {
            Resource::System => uid("System", "probity")?,
            Resource::Account { user } => {
                ra.insert(
                    "account".into(),
                    RestrictedExpression::new_entity_uid(user_uid(*user)?),
                );
                uid("Account", &user.to_string())?
            }
            Resource::Case(c) => {
                case_attrs(c, &mut ra)?;
                uid("Case", &c.id.to_string())?
            }
            Resource::Evidence {
                id,
                case,
                technology,
            } => {
                case_attrs(case, &mut ra)?;
                ra.insert(
                    "technology".into(),
                    s(technology.map_or("other", |t| t.as_str())),
                );
                uid("Evidence", id)?
            }
            Resource::Device {
                id,
                command,
                technology,
            } => {
                ra.insert("command".into(), s(command.as_str()));
                ra.insert("technology".into(), s(technology.as_str()));
                uid("Device", id)?
            }
            Resource::FrRequest {
                id,
                case,
                requester,
            } => {
                case_attrs(case, &mut ra)?;
                ra.insert(
                    "requester".into(),
                    RestrictedExpression::new_entity_uid(user_uid(*requester)?),
                );
                uid("FrRequest", &id.to_string())?
            }
            Resource::ThermalDeployment {
                id,
                command,
                authorization_in_force,
            } => {
                ra.insert("command".into(), s(command.as_str()));
                ra.insert(
                    "authorization_in_force".into(),
                    RestrictedExpression::new_bool(*authorization_in_force),
                );
                uid("ThermalDeployment", id)?
            }
            Resource::Disclosure {
                id,
                case,
                created_by,
            } => {
                case_attrs(case, &mut ra)?;
                ra.insert(
                    "created_by".into(),
                    RestrictedExpression::new_entity_uid(user_uid(*created_by)?),
                );
                uid("Disclosure", id)?
            }
            Resource::Technology(t) => {
                ra.insert("name".into(), s(t.as_str()));
                uid("Technology", t.as_str())?
            }
            Resource::AuditScope {
                commands,
                department_wide,
            } => {
                ra.insert(
                    "commands".into(),
                    str_set(commands.iter().map(|c| c.as_str())),
                );
                ra.insert(
                    "department_wide".into(),
                    RestrictedExpression::new_bool(*department_wide),
                );
                uid("AuditScope", "focused")?
            }
            Resource::Command(code) => {
                ra.insert("code".into(), s(code.as_str()));
                uid("Command", code.as_str())?
            }
        };
        let resource_entity = Entity::new(r_uid.clone(), ra, HashSet::new())
            .map_err(|e| PolicyError::Validation(e.to_string()))?;
        let mut entities = vec![principal_entity];
        if r_uid != p_uid {
            entities.push(resource_entity);
        }
        let entities = Entities::from_entities(entities, Some(&self.schema))
            .map_err(|e| PolicyError::Validation(e.to_string()))?;

        let action_uid = uid("Action", action.as_str())?;
        let ctx = CedarContext::from_pairs([
            (
                "remote".to_string(),
                RestrictedExpression::new_bool(context.remote),
            ),
            (
                "second_factor".to_string(),
                RestrictedExpression::new_bool(context.second_factor),
            ),
        ])
        .map_err(|e| PolicyError::Validation(e.to_string()))?;
        let request = Request::new(p_uid, action_uid, r_uid, ctx, Some(&self.schema))
            .map_err(|e| PolicyError::Validation(e.to_string()))?;
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        let mut rules: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        rules.sort();
        let allowed = response.decision() == cedar_policy::Decision::Allow;
        let rule = match rules.first() {
            Some(r) => r.clone(),
            None => {
                let roles: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
                let mut m = format!(
                    "deny-by-default: no policy permits {action} for roles [{}]",
                    roles.join(", ")
                );
                let errors: Vec<String> = response
                    .diagnostics()
                    .errors()
                    .map(|e| e.to_string())
                    .collect();
                if !errors.is_empty() {
                    m.push_str(&format!(" (policy errors: {})", errors.join("; ")));
                }
                m
            }
        };
        if rules.is_empty() {
            rules.push(rule.clone());
        }
        Ok(Decision {
            allowed,
            rule,
            rules,
            action,
        })
    }
}

/// The policies of `all` that apply to each action (see [`PolicyEngine`]'s `by_action`).
fn policies_by_action(
    all: &PolicySet,
    schema: &Schema,
) -> Result<HashMap<Action, PolicySet>, PolicyError> {
    let mut out = HashMap::new();
    if schema.action_groups().next().is_some() || all.templates().next().is_some() {
        return Ok(out);
    }
    for &action in Action::ALL {
        let a = uid("Action", action.as_str())?;
        let applicable = all.policies().filter(|p| match p.action_constraint() {
            cedar_policy::ActionConstraint::Any => true,
            cedar_policy::ActionConstraint::Eq(x) => x == a,
            cedar_policy::ActionConstraint::In(xs) => xs.contains(&a),
        });
        let set = PolicySet::from_policies(applicable.cloned())
            .map_err(|e| PolicyError::Validation(e.to_string()))?;
        out.insert(action, set);
    }
    Ok(out)
}

/// `SEC-02.case-read-assigned`: a rule ID (2-3 capitals, '-', 2 digits), a dot, a name.
fn rule_id_well_formed(id: &str) -> bool {
    let Some((rule, name)) = id.split_once('.') else {
        return false;
    };
    let Some((letters, digits)) = rule.split_once('-') else {
        return false;
    };
    (2..=3).contains(&letters.len())
        && letters.bytes().all(|b| b.is_ascii_uppercase())
        && digits.len() == 2
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn miette_text(e: &cedar_policy::ParseErrors) -> String {
    e.to_string()
}

/// The first line of the first policy of `cedar` that does not parse on its own. Every policy of
/// a pack starts with its `@id` annotation, so the text is cut at each line that starts with one.
fn first_unparsable_line(cedar: &str) -> Option<usize> {
    let lines: Vec<&str> = cedar.lines().collect();
    let mut starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("@id("))
        .map(|(i, _)| i)
        .collect();
    if starts.first() != Some(&0) {
        // What comes before the first @id (comments, or a policy without one) is a chunk too.
        starts.insert(0, 0);
    }
    starts.push(lines.len());
    for w in starts.windows(2) {
        let chunk = lines[w[0]..w[1]].join("\n");
        if PolicySet::from_str(&chunk).is_err() {
            return Some(w[0] + 1);
        }
    }
    None
}

/// Puts the packs' schedule parts together: each part from one pack only, and a whole schedule
/// must pass [`RetentionSchedule::validate`].
fn whole_schedule(packs: &[PolicyPack]) -> Result<Option<RetentionSchedule>, PolicyError> {
    let mut cases = Vec::new();
    let mut personal = None;
    let mut robot = None;
    for p in packs {
        let s = &p.retention_schedule;
        cases.extend(s.cases.iter().cloned());
        if let Some(x) = s.personal_files {
            if personal.replace(x).is_some() {
                return Err(PolicyError::pack(
                    &p.id,
                    "[retention_schedule.personal_files] is given by two packs",
                ));
            }
        }
        if let Some(x) = s.robot_data {
            if robot.replace(x).is_some() {
                return Err(PolicyError::pack(
                    &p.id,
                    "[retention_schedule.robot_data] is given by two packs",
                ));
            }
        }
    }
    let (Some(personal_files), Some(robot_data), false) = (personal, robot, cases.is_empty())
    else {
        return Ok(None);
    };
    let schedule = RetentionSchedule {
        case_rules: cases,
        personal_files,
        robot_data,
    };
    schedule
        .validate()
        .map_err(|e| PolicyError::pack("retention_schedule", e))?;
    Ok(Some(schedule))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ovr_02_unparsable_policy_is_located_by_its_first_line() {
        for src in embedded_sources() {
            assert_eq!(first_unparsable_line(&src.cedar), None, "{}", src.name);
        }
        let cedar = "// a comment\n@id(\"SEC-02.a\")\npermit (principal, action, resource);\n\n@id(\"SEC-02.b\")\npermit (principal, action, resource)\nwhen { principal.x == };\n";
        assert_eq!(first_unparsable_line(cedar), Some(5));
    }

    /// SEC-02: asking only the policies whose action scope can match gives the very decision,
    /// rule and rules of asking every policy, for every action, role and resource kind, local and
    /// remote.
    #[test]
    fn sec_02_policies_asked_by_action_decide_as_the_whole_set() {
        use probity_domain::{CaseId, CommandCode, Course, PersonKind, Role, Technology, UserId};
        let engine = PolicyEngine::load().expect("embedded packs");
        assert_eq!(engine.by_action.len(), Action::ALL.len());
        let home = CommandCode::parse("PCT-019").expect("command");
        let mut compared = 0;
        for &role in Role::ALL {
            let kind = role.requirements().kind;
            let only = |r: Role| -> BTreeSet<CommandCode> {
                if r == role {
                    [home.clone()].into()
                } else {
                    BTreeSet::new()
                }
            };
            let p = Principal {
                user: UserId::new(),
                kind,
                roles: [role].into(),
                commands: [home.clone()].into(),
                investigator_commands: only(Role::Investigator),
                supervisor_commands: only(Role::Supervisor),
                commanding_officer_commands: only(Role::CommandingOfficer),
                intelligence_division: false,
                courses: Course::ALL.iter().copied().collect(),
                contract_active: kind != PersonKind::Member,
                contract_scope: Technology::ALL.iter().copied().collect(),
            };
            let case = CaseRef {
                id: CaseId::new(),
                command: home.clone(),
                assigned_investigator: Some(p.user),
                political_activity: false,
            };
            for &action in Action::ALL {
                let resource = match action.resource_kind() {
                    ResourceKind::System => Resource::System,
                    ResourceKind::Account => Resource::Account { user: p.user },
                    ResourceKind::Case => Resource::Case(case.clone()),
                    ResourceKind::Evidence => Resource::Evidence {
                        id: "ev-1".into(),
                        case: case.clone(),
                        technology: Some(Technology::DigitalCameras),
                    },
                    ResourceKind::Device => Resource::Device {
                        id: "cam-1".into(),
                        command: home.clone(),
                        technology: Technology::DigitalCameras,
                    },
                    ResourceKind::FrRequest => Resource::FrRequest {
                        id: probity_domain::FrRequestId::new(),
                        case: case.clone(),
                        requester: UserId::new(),
                    },
                    ResourceKind::ThermalDeployment => Resource::ThermalDeployment {
                        id: "th-1".into(),
                        command: home.clone(),
                        authorization_in_force: true,
                    },
                    ResourceKind::Disclosure => Resource::Disclosure {
                        id: "d-1".into(),
                        case: case.clone(),
                        created_by: UserId::new(),
                    },
                    ResourceKind::Technology => Resource::Technology(Technology::FacialRecognition),
                    ResourceKind::AuditScope => Resource::AuditScope {
                        commands: [home.clone()].into(),
                        department_wide: false,
                    },
                    ResourceKind::Command => Resource::Command(home.clone()),
                };
                for remote in [false, true] {
                    let ctx = Context {
                        remote,
                        second_factor: false,
                    };
                    let whole = engine
                        .evaluate(&engine.policies, &p, action, &resource, &ctx)
                        .expect("whole set");
                    let asked = engine.decide(&p, action, &resource, &ctx);
                    assert_eq!(
                        (whole.allowed, &whole.rule, &whole.rules),
                        (asked.allowed, &asked.rule, &asked.rules),
                        "{role:?} {action} remote={remote}"
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 100, "{compared}");
    }
}
