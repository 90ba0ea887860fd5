//! The registry of diagnostic codes is the one list: `docs/codes.md` is made from it, and no code
//! is spelt out anywhere else in the source.

use caveat::diagnostic::Code;

#[test]
fn docs_codes_md_is_the_registry() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/codes.md");
    let expected = Code::document();
    if std::env::var_os("CAVEAT_UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let written = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        written == expected,
        "docs/codes.md differs from the registry: run `CAVEAT_UPDATE_DOCS=1 cargo test --test codes`"
    );
}

#[test]
fn every_code_is_listed_once_in_order_with_a_description() {
    let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted, "codes must be unique and sorted by name");
    for code in Code::ALL {
        assert!(code.as_str().starts_with("caveat::"), "{code}");
        assert_eq!(code.as_str().split("::").count(), 3, "{code}");
        let description = code.description();
        assert!(
            !description.is_empty() && !description.ends_with('.'),
            "{code}"
        );
        assert_eq!(Code::from_name(code.as_str()), Some(*code));
    }
}

/// Codes are built from the registry only: no `"caveat::…"` string literal stands anywhere in
/// `src/` outside the registry itself.
#[test]
fn no_code_is_spelt_out_outside_the_registry() {
    let mut offenders = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("codes.rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                if line.contains("\"caveat::") {
                    offenders.push(format!("{}:{}: {line}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "code strings outside the registry:\n{}",
        offenders.join("\n")
    );
}
