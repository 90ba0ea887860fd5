//! The registry of every diagnostic code caveat can emit: its name, its level and a line saying
//! what it means. Every [`Diag`](super::Diag) is built from a [`Code`]; `docs/codes.md` is
//! generated from [`Code::ALL`] by [`Code::document`], and a test keeps the two equal
//! (`CAVEAT_UPDATE_DOCS=1 cargo test --test codes` rewrites it).

use std::fmt;

/// The level a code is reported at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Fails the run.
    Error,
    /// Worth a look; fails with `--fail-on warn` (or `lint --deny warnings`).
    Warning,
    /// Information.
    Note,
}

impl Level {
    /// The level's name in `docs/codes.md`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }
}

/// Declares [`Code`]: each variant with its code string, level and description.
macro_rules! codes {
    ($($variant:ident = $code:literal, $level:ident, $description:literal;)*) => {
        /// A stable diagnostic code, such as `caveat::parse::expected`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(
                #[doc = $description]
                $variant,
            )*
        }

        impl Code {
            /// Every code, sorted by name.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as written in diagnostics and reports.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The level the code is reported at.
            pub fn level(self) -> Level {
                match self { $(Code::$variant => Level::$level,)* }
            }

            /// What the code means, in one line.
            pub fn description(self) -> &'static str {
                match self { $(Code::$variant => $description,)* }
            }
        }
    };
}

codes! {
    CheckAliasSpelling = "caveat::check::alias_spelling", Error, "a spelling in an `alias` list is not a string or symbol, e.g. a number or a field path";
    CheckAllCycle = "caveat::check::all_cycle", Error, "`all.NAME` is read in `where` or `having`, which decide the records `all.` is taken over, or by NAME itself (directly or through other lets)";
    CheckAllInWaiver = "caveat::check::all_in_waiver", Error, "a waiver's condition reads `all.NAME` of a let whose values over the run its rule does not keep (the rule itself does not read `all.NAME`)";
    CheckArithmetic = "caveat::check::arithmetic", Error, "arithmetic on constants fails when folded while compiling: division by zero or overflow, or a constant quantile probability outside 0 to 1";
    CheckArity = "caveat::check::arity", Error, "a function is given the wrong number of arguments: `min` and `max` take one or more, the others exactly one";
    CheckBadIndex = "caveat::check::bad_index", Error, "a constant number inside `[…]` is not a whole number that can be a list position";
    CheckBadMessage = "caveat::check::bad_message", Error, "a rule's `message` cannot be used, e.g. a malformed `{…}` placeholder";
    CheckBadRegex = "caveat::check::bad_regex", Error, "the pattern after `matches`, or a raw-string pattern in an `alias` list, is not a valid regex or compiles to more than 1 MiB";
    CheckConstantHasNoFields = "caveat::check::constant_has_no_fields", Error, "a field is read (`NAME.field`) from a `let` or `alias` name, which is a constant; `record.NAME` reads the field";
    CheckDuplicateName = "caveat::check::duplicate_name", Error, "a `let` or `alias` name is declared twice in one file, or imports bring the same name from two files";
    CheckDuplicateRuleId = "caveat::check::duplicate_rule_id", Error, "two rules have the same id: a `rule ID` used twice, or two unnamed rules that get the same `FILE-STEM:LINE`";
    CheckEmptyWaiverText = "caveat::check::empty_waiver_text", Error, "a waiver's `because` reason or `by` owner is empty or only blanks, so the report could not say why the finding is waived or who decided it";
    CheckGroupField = "caveat::check::group_field", Error, "inside a rule with `per`, a field path that is not a key has no single value: read it through `group`";
    CheckGroupOutside = "caveat::check::group_outside", Error, "`group` is used outside a rule with `per`, or in a group rule's `where`";
    CheckHavingWithoutPer = "caveat::check::having_without_per", Error, "`having` in a rule without `per`: it chooses groups, and such a rule has none";
    CheckImportCycle = "caveat::check::import_cycle", Error, "an `import` closes a cycle of files importing each other";
    CheckImportMissing = "caveat::check::import_missing", Error, "an `import` names a file that does not exist (the path is relative to the importing file)";
    CheckImportNotPolicy = "caveat::check::import_not_policy", Error, "an `import` names a file that is not a policy file (`.policy`), such as a data file";
    CheckImportOutsideRoot = "caveat::check::import_outside_root", Error, "an `import` leads, through `..` or a symlink, to a file outside the policy root";
    CheckKeyTwice = "caveat::check::key_twice", Error, "the same key is written twice in one `per` (`per vendor, vendor`)";
    CheckLetCycle = "caveat::check::let_cycle", Error, "a `let` is defined in terms of itself through other `let`s";
    CheckLetNotConstant = "caveat::check::let_not_constant", Error, "the value of a `let` depends on the record instead of being a constant";
    CheckLocalCycle = "caveat::check::local_cycle", Error, "rule-local `let`s are defined in terms of each other";
    CheckLocalInWhere = "caveat::check::local_in_where", Error, "a group rule's `where` or key reads a rule-local `let`, which is computed per group after grouping";
    CheckLocalShadows = "caveat::check::local_shadows", Error, "a rule-local `let` or a key\'s `as` name repeats the name of a file-level `let` or `alias`, or of another `let` or key of the rule, or is `id` (the group\'s name) in a group rule";
    CheckNotADate = "caveat::check::not_a_date", Error, "a date filter (`after`, `before`, `between`) or a waiver's `until` is given something other than a date constant";
    CheckNotAList = "caveat::check::not_a_list", Error, "the name after `in` is a `let` bound to a constant that is not a list";
    CheckNotBoolean = "caveat::check::not_boolean", Error, "a `when`, `unless`, `require`, waiver `for` or operand of `and`/`or`/`not`/`where` is a number, string or other non-condition";
    CheckRegexNotConstant = "caveat::check::regex_not_constant", Error, "the pattern after `matches` is not a constant string";
    CheckUnknownAll = "caveat::check::unknown_all", Error, "`all.NAME` names no rule-local `let` of its rule";
    CheckUnknownFunction = "caveat::check::unknown_function", Error, "a call names a function caveat does not have (the functions are `count`, `sum`, `min`, `max`, `len`, `lower`, `upper`)";
    CheckUnknownList = "caveat::check::unknown_list", Error, "the name after `in` is not a list declared with a `let` or `alias` visible in that file";
    CheckUnknownRule = "caveat::check::unknown_rule", Error, "a `waive` or a test's `expect` names a rule id that no rule has";
    CheckVendorList = "caveat::check::vendor_list", Error, "a `vendor NAME` filter compares the vendor with a list, where `vendor in NAME` was meant";
    CliOutputIsInput = "caveat::cli::output_is_input", Error, "a report or snapshot file is one of the files the run reads (a policy, a data file, the config; whatever links lead to it), which writing would destroy; refused before anything is written";
    CliOutputWithoutFormat = "caveat::cli::output_without_format", Error, "an `--output FILE` has no `--format` right before it to belong to, or two `--output`s follow one `--format`";
    CliSameOutput = "caveat::cli::same_output", Error, "two `--format`s are given the same `--output` file (or two names of one file), so one report would overwrite or garble the other; refused before anything is written";
    CliSeveralToStdout = "caveat::cli::several_to_stdout", Error, "more than one `--format` is left without an `--output FILE`, so several reports would go to stdout";
    CliUnknownCommand = "caveat::cli::unknown_command", Error, "`caveat man COMMAND` names a command caveat does not have";
    ConfigBadGlob = "caveat::config::bad_glob", Error, "a `data` glob in `caveat.toml` is not a valid pattern or matches no file";
    ConfigInvalid = "caveat::config::invalid", Error, "`caveat.toml` is not valid TOML, or a setting has the wrong type";
    ConfigRead = "caveat::config::read", Error, "`caveat.toml` exists but cannot be read";
    ConfigUnknownKey = "caveat::config::unknown_key", Error, "`caveat.toml` has a setting, or an `[output]` format, that caveat does not know, or `allow-outside`, which only the command line's `--allow-outside` may give";
    DataAliasBomb = "caveat::data::alias_bomb", Error, "a YAML alias would expand the document beyond its node budget (an alias bomb)";
    DataArrowNull = "caveat::data::arrow_null", Error, "a row of an Arrow struct array, where a record was expected, is null";
    DataArrowType = "caveat::data::arrow_type", Error, "an Arrow column has a type caveat does not read as record values (binary, time of day, interval, union…); cast it to a string or a number first";
    DataBadTaggedValue = "caveat::data::bad_tagged_value", Error, "a YAML core tag marks a value it does not fit (`!!int` on `abc`), or a node of the wrong kind (`!!map` on a scalar)";
    DataComplexKey = "caveat::data::complex_key", Error, "a YAML mapping key is a list or a mapping instead of a plain value";
    DataCsvHeader = "caveat::data::csv_header", Error, "a CSV header cell is not a field name: empty, or with an empty part between dots";
    DataCsvRow = "caveat::data::csv_row", Error, "a CSV row has a different number of cells from the header";
    DataCsvSyntax = "caveat::data::csv_syntax", Error, "a CSV quoted field is never closed, or text follows a closing quote";
    DataDuplicateKey = "caveat::data::duplicate_key", Error, "a key appears twice in one mapping of a data file, or a CSV header names a column twice";
    DataFileTooLarge = "caveat::data::file_too_large", Error, "a data file (or a snapshot read by `--check`) is larger than `--max-file-size` (64 GiB by default), or a policy file or `caveat.toml` larger than 64 MiB; refused before it is read";
    DataJsonSyntax = "caveat::data::json_syntax", Error, "a JSON or JSONL file is malformed";
    DataMergeKey = "caveat::data::merge_key", Error, "a YAML file uses a merge key (`<<`), which is not supported";
    DataNoRecordsList = "caveat::data::no_records_list", Error, "with `--records PATH`, a document has no list of records at that path";
    DataNotARecord = "caveat::data::not_a_record", Error, "a record (a document, an element of the records list, or an item given to the Python package's `check`) is not a mapping";
    DataScalarTooLarge = "caveat::data::scalar_too_large", Error, "a key or value in a data file, or a CSV cell, is longer than `--max-scalar-size` (16 MiB by default)";
    DataTooDeep = "caveat::data::too_deep", Error, "a data file nests collections deeper than `--max-depth` (128 by default)";
    DataTooManyDocuments = "caveat::data::too_many_documents", Error, "a YAML file holds more than `--max-documents` documents (1,000,000 by default)";
    DataUnknownAlias = "caveat::data::unknown_alias", Error, "a YAML alias refers to no anchor in its document";
    DataUnsupportedTag = "caveat::data::unsupported_tag", Error, "a YAML node carries a tag caveat does not support, such as `!!python/object`";
    DataYamlSyntax = "caveat::data::yaml_syntax", Error, "a YAML file is malformed";
    DiffGit = "caveat::diff::git", Error, "`caveat diff` cannot read the `--base` policies at the given git revision";
    ExplainUnknownRecord = "caveat::explain::unknown_record", Error, "`caveat explain` names a record that no data file holds";
    ExplainUnknownRule = "caveat::explain::unknown_rule", Error, "`caveat explain` names a rule id that no rule has";
    FindingRule = "caveat::finding::rule", Error, "a rule fired on a record (`deny`, `warn` or `note`, or `error` when its data could not be evaluated); shown under the rule's id";
    FmtInternal = "caveat::fmt::internal", Error, "`caveat fmt` would change a file's meaning, so it leaves the file as it is (a bug in the formatter)";
    FmtNoPolicies = "caveat::fmt::no_policies", Error, "`caveat fmt` finds no policy files to format";
    FmtNotAFile = "caveat::fmt::not_a_file", Warning, "`caveat fmt` leaves a policy path that is not a regular file as it is";
    FmtReadOnly = "caveat::fmt::read_only", Warning, "`caveat fmt` leaves a read-only policy file as it is; make it writable to format it";
    FmtRenamesRule = "caveat::fmt::renames_rule", Error, "`caveat fmt` would move a rule written outside a `rule ID { … }` block to a later line, which renames it (its id is `FILE-STEM:LINE`), so it leaves the file as it is";
    FmtStdinWithFiles = "caveat::fmt::stdin_with_files", Error, "`caveat fmt -` formats standard input to standard output, so `-` cannot be given beside policy files; format them in another command";
    FmtSymlink = "caveat::fmt::symlink", Warning, "`caveat fmt` leaves a policy that is a symbolic link as it is (replacing it would turn it into a copy); format the file it points to";
    InitExists = "caveat::init::exists", Error, "`caveat init` would overwrite files that already exist";
    InputEmptyData = "caveat::input::empty_data", Warning, "a data file was read without error but holds no records: empty, `[]`, or a CSV file with only its header row";
    InputEmptyPolicy = "caveat::input::empty_policy", Warning, "a policy file holds nothing but comments and blank lines";
    InputNoRecords = "caveat::input::no_records", Warning, "a run checked no record at all, and no data file was warned of as empty nor a folder given as holding nothing: there were no data files to read";
    InputNoRules = "caveat::input::no_rules", Warning, "the policies of a run hold no rule, so every record would pass";
    IoBadGlob = "caveat::io::bad_glob", Error, "an `--exclude` glob is not valid gitignore syntax";
    IoEmptyFolder = "caveat::io::empty_folder", Warning, "a folder given to read holds no policy or data file: all its entries are hidden, ignored, excluded, links to folders or of other kinds";
    IoNoPaths = "caveat::io::no_paths", Error, "`caveat check` is given no paths and finds no `caveat.toml` and no `policies/` or `examples/` folder";
    IoNoPolicies = "caveat::io::no_policies", Error, "a run has no policy files to check against, or `caveat diff` finds none in `--base` or `--head`";
    IoNotAFile = "caveat::io::not_a_file", Error, "a file to read is not a regular file (a named pipe, a device, a socket or a folder), refused before it is opened so that nothing blocks or streams forever";
    IoNotFound = "caveat::io::not_found", Error, "a path given on the command line does not exist";
    IoNotUtf8 = "caveat::io::not_utf8", Error, "a policy, data or snapshot file is not UTF-8 text; the message says where its first byte that is not UTF-8 is (the human report shows no source for it)";
    IoOutsideProject = "caveat::io::outside_project", Error, "a path or symbolic link resolves outside the project root (the folder of `caveat.toml`, else the git work tree, else the working folder), or a `caveat.toml` `[output]` lies outside it; `--allow-outside` on the command line lifts it";
    IoRead = "caveat::io::read", Error, "a file or folder cannot be read: a policy, a data file, a folder being walked or a snapshot";
    IoUnknownKind = "caveat::io::unknown_kind", Error, "a file named on the command line is neither a `.policy` file nor a `.yaml`, `.yml`, `.json`, `.jsonl` or `.csv` data file";
    IoUnsafeOutput = "caveat::io::unsafe_output", Error, "a file to write is a symbolic link, or not a regular file (a FIFO, a device, a folder), or `caveat init` would write through a link: caveat never writes through or replaces one";
    IoWrite = "caveat::io::write", Error, "a file cannot be written: a report, a formatted policy, a snapshot or a `caveat init` starter file";
    LintAlwaysFires = "caveat::lint::always_fires", Warning, "a rule fires on every record: no filter or condition, only `when true`, or `require false`";
    LintConstantGroupKey = "caveat::lint::constant_group_key", Warning, "a key of `per` reads nothing of the record (`per 5`, `per [vendor, unit]`), so it is the same for every record";
    LintDuplicateTest = "caveat::lint::duplicate_test", Warning, "two tests share a name, by which reports name a test, or a test expects the same finding twice";
    LintNeverFires = "caveat::lint::never_fires", Error, "a rule can never fire: its filters and conditions contradict each other, or a clause is constant (`when false`)";
    LintNotImported = "caveat::lint::not_imported", Warning, "a symbol is spelt as a `let` or `alias` of another policy file that its file does not import, so it is only its own text, matched exactly";
    LintNotInEnum = "caveat::lint::not_in_enum", Error, "a symbol or string compared with an enum field is not one of the enum's members, e.g. `exemption.kind == urgnet`";
    LintShadowedRule = "caveat::lint::shadowed_rule", Warning, "every finding of a rule is already a finding of an earlier rule of the same effect in the same file";
    LintSymbolIsField = "caveat::lint::symbol_is_field", Warning, "a bare name on the right of `==`/`!=` is a symbol, but the schema declares a top-level field of that name";
    LintSymbolIsLet = "caveat::lint::symbol_is_let", Warning, "a list literal holds symbols and a bare name that a `let` of its rule takes, so that element is the let's value, not the text (`b.status in [valid, pending]` beside `let pending = …`)";
    LintTypeMismatch = "caveat::lint::type_mismatch", Error, "an expression can never be evaluated on conforming data, e.g. `date > 100`, `lower(5)` or arithmetic on a string";
    LintUnknownField = "caveat::lint::unknown_field", Error, "a field path in an expression, filter or message placeholder names a field the schema does not declare";
    LintUnnamedRule = "caveat::lint::unnamed_rule", Warning, "a rule is written outside a `rule ID { … }` block (a style lint, reported by `caveat lint` only)";
    LintUnusedAlias = "caveat::lint::unused_alias", Warning, "an `alias` is used by no policy file that sees it (its own, or one that imports it)";
    LintUnusedLet = "caveat::lint::unused_let", Warning, "a `let` is used by no policy file that sees it (its own, or one that imports it), or a rule's own `let` by nothing of its rule (its body, message, lets, `all.`, waivers)";
    ParseBidiControl = "caveat::parse::bidi_control", Error, "a policy contains a bidirectional control character, even inside a string or comment";
    ParseDuplicateMetadata = "caveat::parse::duplicate_metadata", Error, "a rule block has more than one `message`, `cite` or `tags`";
    ParseEscape = "caveat::parse::escape", Error, "a string has an invalid escape; the escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{HEX}`";
    ParseInternal = "caveat::parse::internal", Error, "the parser meets an unexpected node in the syntax tree (a bug in caveat)";
    ParseInvalidDate = "caveat::parse::invalid_date", Error, "a date literal is not a valid `YYYY-MM-DD` date, e.g. `2018-02-30`";
    ParseNumber = "caveat::parse::number", Error, "a number literal is too large or has too many digits to hold exactly (28 significant digits, 29 below 2^96, and 28 decimal places)";
    ParseRuleId = "caveat::parse::rule_id", Error, "a rule id ends in `-` or `.`";
    ParseSyntax = "caveat::parse::syntax", Error, "a policy does not parse: an unexpected token, an unterminated string or an unfinished statement";
    ParseTooDeep = "caveat::parse::too_deep", Error, "brackets, `not`s, unary minuses, `.field`/`[i]` chains, quantifiers or `if … else if` in a policy nest more than 64 levels deep";
    RunPartial = "caveat::run::partial", Note, "with `check --changed`, only the changed data files were read: rules across records saw only their records (waivers matching nothing there are not called stale)";
    RunUnseenField = "caveat::run::unseen_field", Warning, "without a schema, a field path some rule reads is in no record of the run (a misspelt field?); the help suggests the nearest key seen";
    SchemaConflictingField = "caveat::schema::conflicting_field", Error, "two `record` blocks of the run declare the same field with different types or optionality";
    SchemaDuplicateField = "caveat::schema::duplicate_field", Error, "a field is declared twice in one `record { … }` block or nested record";
    SchemaDuplicateMember = "caveat::schema::duplicate_member", Error, "an enum type lists a member twice";
    SchemaMissingField = "caveat::schema::missing_field", Error, "a record lacks a required field of the schema, or holds null there";
    SchemaNotInEnum = "caveat::schema::not_in_enum", Error, "a record's value of an enum field is not one of the enum's members";
    SchemaUndeclaredField = "caveat::schema::undeclared_field", Error, "with `record closed { … }`, a record holds a field the schema does not declare";
    SchemaUnknownType = "caveat::schema::unknown_type", Error, "a field's type is a bare word that is not a type name, e.g. `amount: numbr`";
    SchemaWrongType = "caveat::schema::wrong_type", Error, "a record's value does not have its field's declared type and does not convert, e.g. `amount: lots` for a `number`";
    TestFailed = "caveat::test::failed", Error, "a test's findings differ from the ones its `expect` lists";
    TestGiven = "caveat::test::given", Error, "a test's `given` holds no record, or more than one";
    TestGivenFile = "caveat::test::given_file", Error, "a test's `given file` names a file that is not a `.yaml`, `.yml`, `.json`, `.jsonl` or `.csv` data file";
    WaiverExpired = "caveat::waiver::expired", Warning, "a waiver's `until` date has passed, so it no longer applies";
    WaiverExpiring = "caveat::waiver::expiring", Note, "a waiver expires within 30 days (as of `--today`)";
    WaiverStale = "caveat::waiver::stale", Warning, "a waiver in force matched no finding in the run";
}

impl Code {
    /// The stage a code belongs to: `parse` of `caveat::parse::expected`.
    pub fn stage(self) -> &'static str {
        self.as_str().split("::").nth(1).unwrap_or("")
    }

    /// The code named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// `docs/codes.md`: every code with its level and meaning, a table per stage.
    pub fn document() -> String {
        use std::fmt::Write as _;
        let mut out = String::from(
            "# Diagnostic codes\n\n\
             Every diagnostic caveat emits has one of these codes, at the level shown (findings of\n\
             rules are shown under the rule's id). This file is generated from the registry in\n\
             `src/diagnostic/codes.rs`: `CAVEAT_UPDATE_DOCS=1 cargo test --test codes` rewrites it,\n\
             and the test fails when the two differ. `docs/lints.md` says more about the lints and\n\
             the schema checks.\n",
        );
        let mut stage = "";
        for code in Code::ALL {
            if code.stage() != stage {
                stage = code.stage();
                let _ = write!(
                    out,
                    "\n## `caveat::{stage}::…`\n\n| code | level | meaning |\n| --- | --- | --- |\n"
                );
            }
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                code.as_str(),
                code.level().name(),
                code.description().replace('|', "\\|")
            );
        }
        out
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
