//! The call into LightGBM: datasets, boosting with early stopping, the model as text.
//!
//! This talks to LightGBM's C API through `lightgbm3-sys` (the bindings under the `lightgbm3`
//! crate) rather than `lightgbm3`'s `Dataset`, because categorical features and binning are
//! dataset parameters that must be given when the dataset is built, which `lightgbm3`'s
//! constructors do not take. Every handle is owned by a guard that frees it, and every return
//! code is checked and turned into [`MlError::LightGbm`] with LightGBM's own message.

use std::ffi::{c_char, c_void, CStr, CString};

use lightgbm3_sys as sys;

use super::TrainOptions;
use crate::error::{MlError, Result};
use crate::matrix::DenseMatrix;

/// The outcome of boosting.
pub struct Fitted {
    /// The model, saved with `best_iteration` iterations.
    pub text: String,
    pub best_iteration: usize,
    /// Iterations run when early stopping ended training, if it did.
    pub stopped_early: Option<usize>,
    /// Without a validation set: LightGBM's own predictions for the training rows, which it
    /// keeps up to date while boosting (row-major, rows x outputs), so scoring them costs
    /// nothing.
    pub training_predictions: Option<Vec<f64>>,
}

fn last_error(during: &str) -> MlError {
    // SAFETY: LGBM_GetLastError returns a pointer to a static, NUL-terminated, thread-local
    // buffer owned by LightGBM.
    let message = unsafe { CStr::from_ptr(sys::LGBM_GetLastError()) }
        .to_string_lossy()
        .into_owned();
    MlError::LightGbm {
        during: during.to_string(),
        message,
    }
}

fn check(code: i32, during: &str) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(last_error(during))
    }
}

fn c_string(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| MlError::InvalidArgument {
        name: what.to_string(),
        message: format!("{s:?} contains a NUL character"),
        hint: "rename the column".into(),
    })
}

struct Dataset(sys::DatasetHandle);

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: the handle came from LGBM_DatasetCreateFromMat and is freed once.
        unsafe {
            sys::LGBM_DatasetFree(self.0);
        }
    }
}

struct Booster(sys::BoosterHandle);

impl Drop for Booster {
    fn drop(&mut self) {
        // SAFETY: the handle came from LGBM_BoosterCreate and is freed once.
        unsafe {
            sys::LGBM_BoosterFree(self.0);
        }
    }
}

fn dataset(
    x: &DenseMatrix,
    y: &[f64],
    params: &CString,
    reference: Option<&Dataset>,
    names: &[CString],
) -> Result<Dataset> {
    let rows = i32::try_from(x.rows()).map_err(|_| MlError::InvalidArgument {
        name: "rows".into(),
        message: format!("{} rows exceed LightGBM's limit of {}", x.rows(), i32::MAX),
        hint: "train on a sample (TABLESAMPLE or a WHERE on a hash)".into(),
    })?;
    let cols = x.cols() as i32;
    let mut handle: sys::DatasetHandle = std::ptr::null_mut();
    // SAFETY: `x` holds rows * cols f64 values in row-major order and outlives the call
    // (LightGBM copies the data into its bins); `params` is NUL-terminated.
    check(
        unsafe {
            sys::LGBM_DatasetCreateFromMat(
                x.as_slice().as_ptr().cast::<c_void>(),
                sys::C_API_DTYPE_FLOAT64 as i32,
                rows,
                cols,
                1,
                params.as_ptr(),
                reference.map_or(std::ptr::null_mut(), |r| r.0),
                &mut handle,
            )
        },
        "building the training dataset",
    )?;
    let ds = Dataset(handle);
    let labels: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    let field = c_string("label", "field")?;
    // SAFETY: `labels` holds `rows` f32 values, copied by LightGBM.
    check(
        unsafe {
            sys::LGBM_DatasetSetField(
                ds.0,
                field.as_ptr(),
                labels.as_ptr().cast::<c_void>(),
                rows,
                sys::C_API_DTYPE_FLOAT32 as i32,
            )
        },
        "setting the labels",
    )?;
    let mut pointers: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    // SAFETY: one NUL-terminated name per column, alive for the call.
    check(
        unsafe { sys::LGBM_DatasetSetFeatureNames(ds.0, pointers.as_mut_ptr(), cols) },
        "setting the feature names",
    )?;
    Ok(ds)
}

/// LightGBM's `key=value ...` parameter string, without the keys kura handles itself.
fn parameter_string(params: &serde_json::Value, skip: &[&str]) -> String {
    params
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Trains on `train`, stopping early on `valid` (its first metric; lower is better for every
/// metric kura sets), and returns the model cut at its best iteration.
pub fn fit(
    names: &[String],
    train: (&DenseMatrix, &[f64]),
    valid: Option<(&DenseMatrix, &[f64])>,
    params: &serde_json::Value,
    categorical: &[usize],
    opts: &TrainOptions,
) -> Result<Fitted> {
    let c_names = names
        .iter()
        .map(|n| c_string(n, "feature name"))
        .collect::<Result<Vec<_>>>()?;
    // Dataset parameters: binning must know which columns are categorical before it runs.
    let mut dataset_params = format!("verbose=-1 seed={}", opts.seed);
    if !categorical.is_empty() {
        let list: Vec<String> = categorical.iter().map(ToString::to_string).collect();
        dataset_params.push_str(&format!(" categorical_feature={}", list.join(",")));
    }
    if let Some(t) = params.get("num_threads") {
        dataset_params.push_str(&format!(" num_threads={t}"));
    }
    let dataset_params = c_string(&dataset_params, "dataset parameters")?;
    let train_ds = dataset(train.0, train.1, &dataset_params, None, &c_names)?;
    let valid_ds = match valid {
        Some((x, y)) => Some(dataset(x, y, &dataset_params, Some(&train_ds), &c_names)?),
        None => None,
    };

    let booster_params = c_string(
        &parameter_string(
            params,
            &[
                "num_iterations",
                "early_stopping_rounds",
                "categorical_feature",
            ],
        ),
        "training parameters",
    )?;
    let mut handle: sys::BoosterHandle = std::ptr::null_mut();
    // SAFETY: the dataset handle is valid; params is NUL-terminated.
    check(
        unsafe { sys::LGBM_BoosterCreate(train_ds.0, booster_params.as_ptr(), &mut handle) },
        "creating the booster",
    )?;
    let booster = Booster(handle);
    if let Some(v) = &valid_ds {
        // SAFETY: both handles are valid and the validation set was built with the training
        // set as its reference (the same bins).
        check(
            unsafe { sys::LGBM_BoosterAddValidData(booster.0, v.0) },
            "adding the validation data",
        )?;
    }

    let mut eval_count = 0i32;
    if valid_ds.is_some() {
        // SAFETY: valid booster handle, out-pointer to a local.
        check(
            unsafe { sys::LGBM_BoosterGetEvalCounts(booster.0, &mut eval_count) },
            "reading the metric count",
        )?;
    }
    let mut scores = vec![0f64; eval_count.max(1) as usize];
    let mut best = (f64::INFINITY, 0usize);
    let mut iterations = 0usize;
    let mut stopped_early = None;
    for iteration in 1..=opts.num_iterations as usize {
        let mut finished = 0i32;
        // SAFETY: valid booster handle, out-pointer to a local.
        check(
            unsafe { sys::LGBM_BoosterUpdateOneIter(booster.0, &mut finished) },
            "boosting",
        )?;
        if finished != 0 {
            // No split improves the loss any more: the trees so far are the model.
            break;
        }
        iterations = iteration;
        if valid_ds.is_some() && eval_count > 0 {
            let mut len = 0i32;
            // SAFETY: `scores` has room for `eval_count` values, as LightGBM reported.
            check(
                unsafe { sys::LGBM_BoosterGetEval(booster.0, 1, &mut len, scores.as_mut_ptr()) },
                "evaluating the validation set",
            )?;
            let score = scores[0];
            if score < best.0 {
                best = (score, iteration);
            } else if iteration - best.1 >= opts.early_stopping_rounds as usize {
                stopped_early = Some(iteration);
                break;
            }
        }
    }
    let best_iteration = if valid_ds.is_some() && best.1 > 0 {
        best.1
    } else {
        iterations
    };
    if best_iteration == 0 {
        return Err(MlError::LightGbm {
            during: "boosting".into(),
            message: "the first iteration produced no tree: no feature splits the training rows"
                .into(),
        });
    }
    let training_predictions = match valid_ds {
        None => Some(training_predictions(&booster, train.0.rows())?),
        Some(_) => None,
    };
    Ok(Fitted {
        text: save_to_string(&booster, best_iteration)?,
        best_iteration,
        stopped_early,
        training_predictions,
    })
}

/// LightGBM's transformed predictions for the training rows, as rows x outputs.
fn training_predictions(booster: &Booster, rows: usize) -> Result<Vec<f64>> {
    let mut len = 0i64;
    // SAFETY: valid booster handle, out-pointer to a local.
    check(
        unsafe { sys::LGBM_BoosterGetNumPredict(booster.0, 0, &mut len) },
        "reading the training predictions",
    )?;
    let mut class_major = vec![0f64; len.max(0) as usize];
    // SAFETY: `class_major` has the `len` values LightGBM reported.
    check(
        unsafe { sys::LGBM_BoosterGetPredict(booster.0, 0, &mut len, class_major.as_mut_ptr()) },
        "reading the training predictions",
    )?;
    let outputs = class_major.len() / rows.max(1);
    // LightGBM lays them out class by class; kura's matrices are row by row.
    let mut out = vec![0f64; class_major.len()];
    for c in 0..outputs {
        for i in 0..rows {
            out[i * outputs + c] = class_major[c * rows + i];
        }
    }
    Ok(out)
}

fn save_to_string(booster: &Booster, iterations: usize) -> Result<String> {
    let iterations = i32::try_from(iterations).unwrap_or(i32::MAX);
    let mut needed = 0i64;
    let mut buffer: Vec<u8> = vec![0; 1 << 20];
    for _ in 0..2 {
        // SAFETY: `buffer` has `buffer.len()` writable bytes; LightGBM writes at most that many
        // and reports the size it needs in `needed`.
        check(
            unsafe {
                sys::LGBM_BoosterSaveModelToString(
                    booster.0,
                    0,
                    iterations,
                    sys::C_API_FEATURE_IMPORTANCE_SPLIT as i32,
                    buffer.len() as i64,
                    &mut needed,
                    buffer.as_mut_ptr().cast::<c_char>(),
                )
            },
            "saving the model",
        )?;
        if (needed as usize) <= buffer.len() {
            let text = CStr::from_bytes_until_nul(&buffer).map_err(|_| MlError::LightGbm {
                during: "saving the model".into(),
                message: "the model text is not NUL-terminated".into(),
            })?;
            return Ok(text.to_string_lossy().into_owned());
        }
        buffer = vec![0; needed as usize];
    }
    Err(MlError::LightGbm {
        during: "saving the model".into(),
        message: format!("the model needs {needed} bytes and kept growing"),
    })
}
