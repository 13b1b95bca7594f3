//! The Arrow boundary: encoding record batches and the SHAP / prediction tables.

mod common;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Float64Type, Schema};
use arrow::record_batch::RecordBatch;
use kura_ml::{
    prediction_table, row_number_key, shap_tables, FeatureKind, FeatureSchema, FeatureSpec,
    MlError, UnseenCategories, EXPECTED_VALUE_KEY,
};

/// The fixture rows as a record batch: numeric columns Float64, categorical ones Int64.
fn batch_of(case: &common::Case) -> RecordBatch {
    let schema = FeatureSchema::from_model(&case.model);
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (j, spec) in schema.features.iter().enumerate() {
        let col = case.x.column(j);
        match spec.kind {
            FeatureKind::CategoryCode => {
                fields.push(Field::new(&spec.name, DataType::Int64, true));
                cols.push(Arc::new(Int64Array::from(
                    col.iter()
                        .map(|v| {
                            (!v.is_nan() && v.fract() == 0.0 && v.abs() < 1e9).then_some(*v as i64)
                        })
                        .collect::<Vec<_>>(),
                )));
            }
            _ => {
                fields.push(Field::new(&spec.name, DataType::Float64, true));
                cols.push(Arc::new(Float64Array::from(
                    col.iter()
                        .map(|v| (!v.is_nan()).then_some(*v))
                        .collect::<Vec<_>>(),
                )));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("batch")
}

#[test]
fn arrow_batches_give_lightgbm_predictions() {
    let case = common::load("binary_categorical");
    let schema = FeatureSchema::from_model(&case.model);
    assert_eq!(schema.features[2].kind, FeatureKind::CategoryCode);
    let batch = batch_of(&case);
    // split into two batches to exercise the row offsets
    let parts = [batch.slice(0, 70), batch.slice(70, batch.num_rows() - 70)];
    let enc = schema
        .encode(&parts, UnseenCategories::Error)
        .expect("encode");
    let pred = case.model.predict(&enc.matrix).expect("predict");
    for (i, want) in case.expected.prob.iter().enumerate() {
        assert!((pred.get(i, 0) - want[0]).abs() <= 1e-9, "row {i}");
    }
}

#[test]
fn missing_and_retyped_columns_are_named_with_expected_types() {
    let case = common::load("binary");
    let schema = FeatureSchema::from_model(&case.model);
    let batch = batch_of(&case);
    let without = batch.project(&[0, 1, 2, 4]).expect("project");
    let err = schema
        .encode(&[without], UnseenCategories::AsMissing)
        .expect_err("missing");
    assert!(matches!(err, MlError::MissingFeatures { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("`Column_3` (numeric)") && msg.contains("`Column_5` (numeric)"),
        "{msg}"
    );

    let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
    cols[1] = Arc::new(StringArray::from(vec!["x"; batch.num_rows()]));
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[1] = Field::new("Column_1", DataType::Utf8, true);
    let retyped = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("batch");
    let err = schema
        .encode(&[retyped], UnseenCategories::AsMissing)
        .expect_err("retyped");
    assert!(
        err.to_string()
            .contains("`Column_1` is Utf8, expected numeric"),
        "{err}"
    );
}

#[test]
fn named_categories_and_unseen_values() {
    let schema = FeatureSchema {
        features: vec![FeatureSpec {
            name: "colour".into(),
            kind: FeatureKind::Category {
                categories: vec!["red".into(), "green".into()],
            },
            data_type: "Utf8".into(),
        }],
    };
    let col: ArrayRef = Arc::new(StringArray::from(vec![
        Some("green"),
        None,
        Some("blue"),
        Some("red"),
    ]));
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "colour",
            DataType::Utf8,
            true,
        )])),
        vec![col],
    )
    .expect("batch");
    let enc = schema
        .encode(std::slice::from_ref(&batch), UnseenCategories::AsMissing)
        .expect("encode");
    let v = enc.matrix.column(0);
    assert_eq!(v[0], 1.0);
    assert!(v[1].is_nan() && v[2].is_nan());
    assert_eq!(v[3], 0.0);
    assert_eq!(enc.notes.len(), 1);
    assert!(enc.notes[0].contains("\"blue\""), "{:?}", enc.notes);
    let err = schema
        .encode(&[batch], UnseenCategories::Error)
        .expect_err("unseen");
    assert!(
        err.to_string().contains("`colour` has 1 values never seen"),
        "{err}"
    );
}

#[test]
fn shap_tables_hold_the_values_and_the_expected_value() {
    let case = common::load("multiclass_categorical");
    let shap = case.model.shap_values(&case.x).expect("shap");
    let raw = case.model.predict_raw(&case.x).expect("raw");
    let names = case.model.feature_names().to_vec();
    let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let key: ArrayRef = Arc::new(StringArray::from(
        (0..case.x.rows())
            .map(|i| format!("id{i}"))
            .collect::<Vec<_>>(),
    ));
    let t = shap_tables(&shap, &names, &key, Some(&labels)).expect("tables");
    let (n, k, f) = (case.x.rows(), 3, names.len());
    assert_eq!(t.long.num_rows(), n * k * f);
    assert_eq!(t.wide.num_rows(), n * k);
    assert_eq!(t.importance.num_rows(), f);
    let ev: Vec<f64> =
        serde_json::from_str(&t.long.schema().metadata()[EXPECTED_VALUE_KEY]).expect("json");
    assert_eq!(ev, shap.expected_value());

    // long form: per (row, class) the values plus the expected value give the raw score
    let keys = t.long.column(0).as_string::<i32>();
    let classes = t.long.column(1).as_string::<i32>();
    let values = t.long.column(3).as_primitive::<Float64Type>();
    let mut sums = std::collections::HashMap::new();
    for r in 0..t.long.num_rows() {
        *sums
            .entry((keys.value(r).to_string(), classes.value(r).to_string()))
            .or_insert(0.0) += values.value(r);
    }
    for i in 0..n {
        for (c, label) in labels.iter().enumerate() {
            let s = sums[&(format!("id{i}"), label.clone())] + ev[c];
            assert!((s - raw.get(i, c)).abs() <= 1e-9);
        }
    }
    // wide form: feature columns plus expected_value give the raw score
    let w = &t.wide;
    for r in 0..w.num_rows() {
        let mut s = 0.0;
        for j in 0..f {
            s += w.column(2 + j).as_primitive::<Float64Type>().value(r);
        }
        s += w.column(2 + f).as_primitive::<Float64Type>().value(r);
        assert!((s - raw.get(r / k, r % k)).abs() <= 1e-9);
    }
    // importance: descending, and equal to the mean |SHAP| summed over classes
    let imp = t.importance.column(1).as_primitive::<Float64Type>();
    assert!(imp.values().windows(2).all(|w| w[0] >= w[1]));
    let top = t.importance.column(0).as_string::<i32>().value(0);
    let j = names.iter().position(|nm| nm == top).expect("name");
    let mean: f64 = shap.mean_abs().iter().map(|c| c[j]).sum();
    assert!((imp.value(0) - mean).abs() <= 1e-12 && mean > 0.1);
}

#[test]
fn prediction_tables_per_task() {
    let case = common::load("binary");
    let raw = case.model.predict_raw(&case.x).expect("raw");
    let t = prediction_table(
        case.model.objective(),
        &raw,
        &row_number_key(raw.rows()),
        None,
    )
    .expect("table");
    let names: Vec<String> = t
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        ["row_key", "raw_score", "probability", "predicted_class"]
    );
    let p = t.column(2).as_primitive::<Float64Type>();
    for (i, want) in case.expected.prob.iter().enumerate() {
        assert!((p.value(i) - want[0]).abs() <= 1e-9);
    }
    let case = common::load("multiclass_categorical");
    let raw = case.model.predict_raw(&case.x).expect("raw");
    let t = prediction_table(
        case.model.objective(),
        &raw,
        &row_number_key(raw.rows()),
        None,
    )
    .expect("table");
    assert_eq!(t.num_columns(), 1 + 2 + 3);
    let p1 = t.column(4).as_primitive::<Float64Type>();
    for (i, want) in case.expected.prob.iter().enumerate() {
        assert!((p1.value(i) - want[1]).abs() <= 1e-9);
    }
    assert!(t.column(1).null_count() == 0);
}
