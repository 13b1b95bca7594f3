//! Reading and writing the LightGBM text format: round trip and bad files.

mod common;

use kura_ml::{LgbmModel, MlError};

#[test]
fn export_is_byte_identical_and_reparses_to_the_same_model() {
    for case in common::all() {
        let text = case.model.to_text();
        assert_eq!(
            text, case.text,
            "{}: export differs from the original",
            case.name
        );
        let again = LgbmModel::from_text(&text, "again").expect("reparse");
        assert_eq!(
            again.predict_raw(&case.x).expect("predict"),
            case.model.predict_raw(&case.x).expect("predict"),
        );
    }
}

#[test]
fn header_fields_are_read() {
    let case = common::load("multiclass_categorical");
    let m = &case.model;
    assert_eq!(m.num_class(), 3);
    assert_eq!(m.num_outputs(), 3);
    assert_eq!(m.num_features(), 5);
    assert_eq!(m.num_iterations(), 20);
    assert!(matches!(
        m.objective(),
        kura_ml::Objective::Multiclass { num_class: 3 }
    ));
    assert!(
        matches!(m.feature_infos()[3], kura_ml::FeatureInfo::Categorical(ref c) if c.contains(&5))
    );
    assert!(matches!(
        m.feature_infos()[0],
        kura_ml::FeatureInfo::Numeric { .. }
    ));
}

fn syntax_line(err: &MlError) -> usize {
    match err {
        MlError::ModelSyntax { line, .. } => *line,
        other => panic!("expected a syntax error, got {other}"),
    }
}

#[test]
fn truncated_files_are_errors_never_panics() {
    for case in common::all() {
        let lines: Vec<&str> = case.text.split('\n').collect();
        // Cut after every line up to the end of the trees: each prefix must fail.
        let end = lines
            .iter()
            .position(|l| *l == "end of trees")
            .expect("end marker");
        for cut in 0..=end {
            let prefix = lines[..cut].join("\n");
            let err = LgbmModel::from_text(&prefix, "cut").expect_err("truncated model accepted");
            assert!(
                matches!(err, MlError::ModelSyntax { .. }),
                "{} cut at {cut}: {err}",
                case.name
            );
        }
        // Cutting in the middle of a line as well.
        for cut in (0..case.text.len()).step_by(997) {
            if let Some(prefix) = case.text.get(..cut) {
                let _ = LgbmModel::from_text(prefix, "cut");
            }
        }
    }
}

#[test]
fn corrupt_fields_name_their_line() {
    let case = common::load("binary_categorical");
    let lines: Vec<&str> = case.text.split('\n').collect();
    let find = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .expect(prefix)
    };
    let replace = |idx: usize, new: &str| {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        l[idx] = new.to_string();
        l.join("\n")
    };
    let cases = [
        (find("threshold="), "threshold=abc".to_string()),
        (find("left_child="), "left_child=0 0 0".to_string()),
        (find("leaf_value="), "leaf_value=1 2".to_string()),
        (find("split_feature="), {
            let n = lines[find("split_feature=")].split(' ').count();
            format!("split_feature={}", vec!["99"; n].join(" "))
        }),
        (find("cat_threshold="), "cat_threshold=1".to_string()),
        (
            find("num_tree_per_iteration="),
            "num_tree_per_iteration=x".to_string(),
        ),
        (find("Tree=3"), "Tree=7".to_string()),
    ];
    for (idx, new) in cases {
        let err = LgbmModel::from_text(&replace(idx, &new), "corrupt")
            .expect_err(&format!("accepted `{new}`"));
        assert_eq!(syntax_line(&err), idx + 1, "`{new}`: {err}");
        assert!(err.to_string().contains("hint:"));
    }
    let err = LgbmModel::from_text("hello\nworld\n", "x.txt").expect_err("not a model");
    assert!(err.to_string().starts_with("x.txt:1:"), "{err}");
}

#[test]
fn cycles_in_children_are_rejected() {
    let case = common::load("regression");
    let lines: Vec<&str> = case.text.split('\n').collect();
    let idx = lines
        .iter()
        .position(|l| l.starts_with("right_child="))
        .expect("right_child");
    let n = lines[idx].split(' ').count();
    let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    l[idx] = format!("right_child={}", vec!["0"; n].join(" "));
    let err = LgbmModel::from_text(&l.join("\n"), "cyclic").expect_err("cycle accepted");
    assert!(err.to_string().contains("do not form a tree"), "{err}");
}

/// Random byte flips: the parser may accept or reject, but must never panic, and whatever it
/// accepts must be safe to predict and explain with.
#[test]
fn random_corruption_never_panics() {
    let case = common::load("multiclass_categorical");
    let bytes = case.text.as_bytes();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"0123456789-.e =\nabcTree";
    for _ in 0..300 {
        let mut b = bytes.to_vec();
        for _ in 0..3 {
            let pos = (next() % b.len() as u64) as usize;
            b[pos] = alphabet[(next() % alphabet.len() as u64) as usize];
        }
        let text = String::from_utf8_lossy(&b);
        if let Ok(model) = LgbmModel::from_text(&text, "fuzz") {
            if model.num_features() == case.x.cols() {
                let _ = model.predict(&case.x);
                let _ = model.shap_values(&case.x);
            }
        }
    }
}
