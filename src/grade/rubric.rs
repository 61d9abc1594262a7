//! The grading rubric: how many points each role earns per case category, how client
//! output is compared, and who sees which test when. Loaded from TOML or taken from
//! [`Rubric::default`]. It only describes grading; scoring itself is in `gradebook`.
//!
//! A rubric file, every key optional (`client_output` and the other snake_case
//! spellings are accepted too):
//!
//! ```toml
//! client-output = "exact"           # or "contains" (the default)
//! visibility = "visible"            # visible | hidden | after_due_date | after_published
//! show-total-when-hidden = true     # echo the total in the overall output when tests are hidden
//! stdout-visibility = "hidden"      # who sees the autograder's own stdout
//!
//! [points.udp-server]               # once [points] is given, unlisted roles and
//! core = 10                         # categories are worth 0
//! unicode = 5
//! edge = 3
//! robustness = 2
//!
//! [points.udp-client]               # clients have no `robustness`: no robustness case
//! core = 10                         # reaches a client (they are raw bytes sent to servers)
//!
//! [category-visibility]             # per-category override of `visibility`
//! robustness = "after_published"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::corpus::Category;
use crate::registry::{Role, RoleKey};

/// The four case categories, in report order.
pub const CATEGORIES: [Category; 4] = [
    Category::Core,
    Category::Unicode,
    Category::Edge,
    Category::Robustness,
];

/// How a student client's stdout is compared with the reference client's.
///
/// The caller passes this on as the student implementation's client-output setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientOutputRule {
    /// The whole stdout (prompt, prefix, reply, newline) must equal the reference
    /// client's, and the client must exit 0.
    Exact,
    /// Only the reply must appear in the stdout; prompts, prefixes (`FROM SERVER: `) and
    /// the exit status are the student's own. The default: real submissions decorate
    /// their output in many ways, and the textbook does not fix one.
    #[default]
    Contains,
}

/// Who sees a Gradescope test (or the autograder's stdout), in Gradescope's own terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Shown to the student at once.
    #[default]
    Visible,
    /// Never shown to the student.
    Hidden,
    /// Shown once the due date has passed.
    AfterDueDate,
    /// Shown once grades are published.
    AfterPublished,
}

impl Visibility {
    /// The value Gradescope expects: `visible`, `hidden`, `after_due_date`, `after_published`.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Visible => "visible",
            Visibility::Hidden => "hidden",
            Visibility::AfterDueDate => "after_due_date",
            Visibility::AfterPublished => "after_published",
        }
    }

    /// Whether the student cannot see it right after submitting.
    pub fn hides_now(self) -> bool {
        match self {
            Visibility::Visible => false,
            Visibility::Hidden | Visibility::AfterDueDate | Visibility::AfterPublished => true,
        }
    }
}

/// Points, comparison and visibility for grading.
#[derive(Debug, Clone, PartialEq)]
pub struct Rubric {
    /// Points per role and category; a pair that is absent is worth 0 and not graded.
    pub points: BTreeMap<(RoleKey, Category), f64>,
    /// How student clients' output is compared.
    pub client_output: ClientOutputRule,
    /// The visibility of every test unless its category overrides it.
    pub visibility: Visibility,
    /// Per-category visibility, overriding [`Rubric::visibility`].
    pub category_visibility: BTreeMap<Category, Visibility>,
    /// Whether the overall output states the total when some tests are not visible
    /// (Gradescope hides the total score itself in that case).
    pub show_total_when_hidden: bool,
    /// Who sees the autograder's stdout.
    pub stdout_visibility: Visibility,
    /// The share of a pass a `non-strict` unit earns (`non-strict-credit`, 0 to 1;
    /// default 1: full credit).
    pub non_strict_credit: f64,
}

/// The default points for a server role, by category (core, unicode, edge, robustness).
pub const DEFAULT_SERVER_POINTS: [f64; 4] = [10.0, 5.0, 3.0, 2.0];

/// The default points for a client role. No robustness case reaches a client (they are
/// raw bytes sent to servers), so clients earn nothing there.
pub const DEFAULT_CLIENT_POINTS: [f64; 4] = [10.0, 5.0, 3.0, 0.0];

impl Default for Rubric {
    /// Servers: core 10, unicode 5, edge 3, robustness 2. Clients: core 10, unicode 5,
    /// edge 3. Client output only has to contain the reply, every test visible, the
    /// autograder's stdout hidden.
    fn default() -> Rubric {
        let mut points = BTreeMap::new();
        for role in RoleKey::ALL {
            let table = match role.role {
                Role::Server => DEFAULT_SERVER_POINTS,
                Role::Client => DEFAULT_CLIENT_POINTS,
            };
            for (category, p) in CATEGORIES.into_iter().zip(table) {
                if p > 0.0 {
                    points.insert((role, category), p);
                }
            }
        }
        Rubric {
            points,
            client_output: ClientOutputRule::Contains,
            visibility: Visibility::Visible,
            category_visibility: BTreeMap::new(),
            show_total_when_hidden: true,
            non_strict_credit: 1.0,
            stdout_visibility: Visibility::Hidden,
        }
    }
}

impl Rubric {
    /// Reads and validates the rubric at `path`.
    pub fn load(path: &Path) -> Result<Rubric, RubricError> {
        let text = std::fs::read_to_string(path).map_err(|e| RubricError {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read the rubric: {e}"),
        })?;
        Rubric::parse(&text, path)
    }

    /// Parses rubric `text`; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Rubric, RubricError> {
        let err = |line: Option<usize>, message: String| RubricError {
            file: path.to_path_buf(),
            line,
            message,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| s.start);
            let mut message = e.message().trim().to_string();
            if let Some(at) = at {
                let field = field_at(text, at);
                if !field.is_empty() && !message.contains(&format!("`{field}`")) {
                    message = format!("field `{field}`: {message}");
                }
                if message.contains("unknown field `robustness`") {
                    message.push_str(
                        "; clients earn no robustness points: no robustness case reaches a client",
                    );
                }
            }
            err(at.map(|a| line_of(text, a)), message)
        })?;
        let mut rubric = Rubric::default();
        if let Some(p) = raw.client_output {
            rubric.client_output = p;
        }
        if let Some(v) = raw.visibility {
            rubric.visibility = v;
        }
        if let Some(v) = raw.show_total_when_hidden {
            rubric.show_total_when_hidden = v;
        }
        if let Some(v) = raw.stdout_visibility {
            rubric.stdout_visibility = v;
        }
        if let Some(v) = raw.non_strict_credit {
            let credit = *v.get_ref();
            if !(0.0..=1.0).contains(&credit) {
                let message = format!(
                    "field `non-strict-credit`: {credit} is not a share of a pass; give a number from 0 (no credit) to 1 (full credit)"
                );
                return Err(err(Some(line_of(text, v.span().start)), message));
            }
            rubric.non_strict_credit = credit;
        }
        if let Some(cv) = raw.category_visibility {
            for (category, v) in [
                (Category::Core, cv.core),
                (Category::Unicode, cv.unicode),
                (Category::Edge, cv.edge),
                (Category::Robustness, cv.robustness),
            ] {
                if let Some(v) = v {
                    rubric.category_visibility.insert(category, v);
                }
            }
        }
        if let Some(p) = raw.points {
            rubric.points.clear();
            let [us, uc, ts, tc] = RoleKey::ALL;
            let tables = [
                (us, p.udp_server.map(RawServerPoints::into_list)),
                (uc, p.udp_client.map(RawClientPoints::into_list)),
                (ts, p.tcp_server.map(RawServerPoints::into_list)),
                (tc, p.tcp_client.map(RawClientPoints::into_list)),
            ];
            for (role, list) in tables {
                for (category, value) in list.into_iter().flatten() {
                    let Some(value) = value else { continue };
                    let line = line_of(text, value.span().start);
                    let v = *value.get_ref();
                    if !v.is_finite() || v < 0.0 {
                        return Err(err(
                            Some(line),
                            format!(
                                "field `points.{role}.{}`: {v} is not a number of points; use 0 or more",
                                category.as_str()
                            ),
                        ));
                    }
                    if v > 0.0 {
                        rubric.points.insert((role, category), v);
                    }
                }
            }
        }
        Ok(rubric)
    }

    /// The points `role` earns for `category` (0 when not graded).
    pub fn points(&self, role: RoleKey, category: Category) -> f64 {
        self.points.get(&(role, category)).copied().unwrap_or(0.0)
    }

    /// The most `role` can earn.
    pub fn role_max(&self, role: RoleKey) -> f64 {
        CATEGORIES.iter().map(|&c| self.points(role, c)).sum()
    }

    /// The most a submission can earn.
    pub fn max_total(&self) -> f64 {
        RoleKey::ALL.iter().map(|&r| self.role_max(r)).sum()
    }

    /// Who sees the tests of `category`.
    pub fn visibility_of(&self, category: Category) -> Visibility {
        self.category_visibility
            .get(&category)
            .copied()
            .unwrap_or(self.visibility)
    }

    /// Whether some graded test is not visible to the student right away.
    pub fn any_hidden(&self) -> bool {
        self.points
            .keys()
            .any(|&(_, c)| self.visibility_of(c).hides_now())
    }
}

/// A rubric that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct RubricError {
    /// The rubric's path.
    pub file: PathBuf,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong, naming the field.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    #[serde(default, alias = "client_output")]
    client_output: Option<ClientOutputRule>,
    #[serde(default)]
    visibility: Option<Visibility>,
    #[serde(default, alias = "show_total_when_hidden")]
    show_total_when_hidden: Option<bool>,
    #[serde(default, alias = "stdout_visibility")]
    stdout_visibility: Option<Visibility>,
    #[serde(default, alias = "non_strict_credit")]
    non_strict_credit: Option<toml::Spanned<f64>>,
    #[serde(default)]
    points: Option<RawPoints>,
    #[serde(default, alias = "category_visibility")]
    category_visibility: Option<RawCategoryVisibility>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPoints {
    #[serde(default, alias = "udp_server")]
    udp_server: Option<RawServerPoints>,
    #[serde(default, alias = "udp_client")]
    udp_client: Option<RawClientPoints>,
    #[serde(default, alias = "tcp_server")]
    tcp_server: Option<RawServerPoints>,
    #[serde(default, alias = "tcp_client")]
    tcp_client: Option<RawClientPoints>,
}

type Points = Option<toml::Spanned<f64>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServerPoints {
    #[serde(default)]
    core: Points,
    #[serde(default)]
    unicode: Points,
    #[serde(default)]
    edge: Points,
    #[serde(default)]
    robustness: Points,
}

impl RawServerPoints {
    fn into_list(self) -> Vec<(Category, Points)> {
        vec![
            (Category::Core, self.core),
            (Category::Unicode, self.unicode),
            (Category::Edge, self.edge),
            (Category::Robustness, self.robustness),
        ]
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClientPoints {
    #[serde(default)]
    core: Points,
    #[serde(default)]
    unicode: Points,
    #[serde(default)]
    edge: Points,
}

impl RawClientPoints {
    fn into_list(self) -> Vec<(Category, Points)> {
        vec![
            (Category::Core, self.core),
            (Category::Unicode, self.unicode),
            (Category::Edge, self.edge),
        ]
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategoryVisibility {
    #[serde(default)]
    core: Option<Visibility>,
    #[serde(default)]
    unicode: Option<Visibility>,
    #[serde(default)]
    edge: Option<Visibility>,
    #[serde(default)]
    robustness: Option<Visibility>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// The dotted name of the key on the line holding `offset`, with its table: for
/// `core = "x"` under `[points.udp-server]`, `points.udp-server.core`. Empty when the
/// line holds no key.
fn field_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[start..end].trim();
    let key = match line.split_once('=') {
        Some((k, _)) if !line.starts_with('[') => k.trim().trim_matches('"').to_string(),
        _ => String::new(),
    };
    let table = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        .unwrap_or_default();
    match (table.is_empty(), key.is_empty()) {
        (_, true) => String::new(),
        (true, false) => key,
        (false, false) => format!("{table}.{key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Rubric, RubricError> {
        Rubric::parse(text, Path::new("rubric.toml"))
    }

    #[test]
    fn the_default_gives_servers_20_and_clients_18() {
        let r = Rubric::default();
        for role in RoleKey::ALL {
            let want = match role.role {
                Role::Server => 20.0,
                Role::Client => 18.0,
            };
            assert_eq!(r.role_max(role), want, "{role}");
        }
        assert_eq!(r.max_total(), 76.0);
        assert_eq!(r.client_output, ClientOutputRule::Contains);
        assert!(!r.any_hidden());
    }

    #[test]
    fn an_empty_file_is_the_default() {
        assert_eq!(parse("").unwrap(), Rubric::default());
    }

    #[test]
    fn a_points_table_lists_exactly_what_is_graded() {
        let r = parse(
            "client-output = \"contains\"\nvisibility = \"after_due_date\"\n\
             show_total_when_hidden = false\n\
             [points.udp-server]\ncore = 6\nunicode = 1.5\n\
             [points.tcp_client]\nedge = 2\n\
             [category-visibility]\ncore = \"visible\"\n",
        )
        .unwrap();
        let [us, uc, _, tc] = RoleKey::ALL;
        assert_eq!(r.points(us, Category::Core), 6.0);
        assert_eq!(r.points(us, Category::Unicode), 1.5);
        assert_eq!(r.points(us, Category::Robustness), 0.0);
        assert_eq!(r.role_max(uc), 0.0);
        assert_eq!(r.points(tc, Category::Edge), 2.0);
        assert_eq!(r.max_total(), 9.5);
        assert_eq!(r.client_output, ClientOutputRule::Contains);
        assert_eq!(r.visibility_of(Category::Core), Visibility::Visible);
        assert_eq!(r.visibility_of(Category::Edge), Visibility::AfterDueDate);
        assert!(r.any_hidden());
        assert!(!r.show_total_when_hidden);
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_field() {
        let e = parse("[points.udp-server]\ncore = 10\nunicod = 5\n").unwrap_err();
        let m = e.to_string();
        assert!(m.starts_with("rubric.toml:3: "), "{m}");
        assert!(m.contains("unicod"), "{m}");

        let m = parse("[points.udp-server]\ncore = \"ten\"\n")
            .unwrap_err()
            .to_string();
        assert!(m.starts_with("rubric.toml:2: "), "{m}");
        assert!(m.contains("points.udp-server.core"), "{m}");

        let m = parse("visibility = \"secret\"\n").unwrap_err().to_string();
        assert!(m.starts_with("rubric.toml:1: "), "{m}");
        assert!(m.contains("visibility"), "{m}");

        let m = parse("\n[points.tcp-server]\nedge = -1\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            m,
            "rubric.toml:3: field `points.tcp-server.edge`: -1 is not a number of points; use 0 or more"
        );

        let m = parse("[points.udp-client]\nrobustness = 2\n")
            .unwrap_err()
            .to_string();
        assert!(m.starts_with("rubric.toml:2: "), "{m}");
        assert!(m.contains("no robustness case reaches a client"), "{m}");

        let m = parse("colour = 1\n").unwrap_err().to_string();
        assert!(
            m.starts_with("rubric.toml:1: ") && m.contains("colour"),
            "{m}"
        );
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let e = Rubric::load(Path::new("/nonexistent/rubric.toml")).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("/nonexistent/rubric.toml: cannot read the rubric"));
    }

    #[test]
    fn the_readme_rubric_loads_as_documented() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("### The rubric").expect("the section")..];
        let start = section.find("```toml\n").expect("a TOML block") + "```toml\n".len();
        let toml = &section[start..start + section[start..].find("```").unwrap()];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rubric.toml");
        std::fs::write(&path, toml).unwrap();
        let rubric = Rubric::load(&path).unwrap();
        let udp_server = RoleKey {
            transport: crate::proto::Transport::Udp,
            role: Role::Server,
        };
        let total: f64 = CATEGORIES
            .iter()
            .map(|&c| rubric.points(udp_server, c))
            .sum();
        assert_eq!(total, 20.0);
        assert_eq!(
            rubric.visibility_of(Category::Robustness),
            Visibility::AfterPublished
        );
        // Roles it does not list are worth nothing once [points] is given.
        assert_eq!(rubric.max_total(), 38.0);
        assert_eq!(Rubric::default().max_total(), 76.0);
    }
}
