//! Z-score anomaly detection for data-quality monitor series.
//!
//! A monitor records one value per time bucket (a day or an hour) for a table or column: row
//! count, null rate, mean, event-time lag. [`assess`] takes that series and decides, for each of
//! the newest `detection_buckets` buckets, whether its value is out of line with a training window
//! of earlier buckets: it computes the training mean and sample standard deviation, scores the
//! value as `z = (value - mean) / stddev` and flags it when `|z|` exceeds the sensitivity (or only
//! one side of it, see [`Direction`]).
//!
//! The module is pure arithmetic over a slice: no I/O, no engine. Building the series (querying
//! the table, filling empty buckets) and storing the [`Assessment`]s belong to the caller.

use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

/// Smallest standard deviation, as a fraction of `|training mean|`, that scoring will use.
///
/// A short training window of a very stable metric (a dimension table that always has 1000 rows)
/// has a sample standard deviation of zero or close to it, which would turn a change of one row
/// into an enormous score. Flooring the deviation at 1% of the mean means that, at the default
/// sensitivity of 3, a metric with a constant history must move by more than 3% of its level to
/// be flagged. The floor is relative so it fits row counts, means and lags alike.
const RELATIVE_STDDEV_FLOOR: f64 = 0.01;

/// Smallest standard deviation scoring will use, whatever the training mean.
///
/// The relative floor is zero when the training mean is zero (a null rate that has always been
/// 0), yet such a metric moving to 0.5 is exactly what a monitor exists to catch. This floor keeps
/// the score finite there and still flags any change above floating-point noise.
const ABSOLUTE_STDDEV_FLOOR: f64 = 1e-9;

/// Which side of the expected range counts as an anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Values far above or far below the training mean.
    #[default]
    Both,
    /// Only values far above the training mean (a burst of rows, a jump in lag).
    Spike,
    /// Only values far below the training mean (missing rows, a stalled load).
    Drop,
}

/// How the training window is chosen for each detection bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Seasonality {
    /// Train on the buckets immediately before the detection buckets.
    #[default]
    None,
    /// Train only on earlier buckets with the same weekday and the same hour of day as the bucket
    /// being assessed, so a quiet Saturday is compared with past Saturdays rather than with the
    /// busy weekdays before it. Daily buckets all sit at midnight, so for them this means "same
    /// weekday"; hourly buckets compare Monday 09:00 with past Mondays at 09:00. Collecting
    /// `min_training` values then needs `min_training` weeks of history.
    DayOfWeek,
}

/// Tuning for [`assess`]; every field has a default, so a config may set only what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalySettings {
    /// Most training values used per detection bucket: the newest non-empty buckets before it
    /// (default 14). Must be at least 2.
    pub training_buckets: usize,
    /// How many of the newest buckets are assessed (default 2). They never train each other, so a
    /// spike in one does not widen the expected range of the next.
    pub detection_buckets: usize,
    /// How many standard deviations from the training mean a value may be before it is
    /// anomalous (default 3.0). Must be finite and greater than 0.
    pub sensitivity: f64,
    /// Which side of the expected range is anomalous (default both).
    pub direction: Direction,
    /// How training buckets are chosen (default none).
    pub seasonality: Seasonality,
    /// Fewest training values needed before a bucket is assessed at all (default 7, half of the
    /// default training window): below it a mean and deviation are too unreliable to alert on, so
    /// a new monitor stays quiet for its first week. Must be between 2 and `training_buckets`.
    pub min_training: usize,
}

impl Default for AnomalySettings {
    fn default() -> Self {
        Self {
            training_buckets: 14,
            detection_buckets: 2,
            sensitivity: 3.0,
            direction: Direction::default(),
            seasonality: Seasonality::default(),
            min_training: 7,
        }
    }
}

impl AnomalySettings {
    /// Checks that the settings describe a usable detector.
    ///
    /// [`assess`] does not call this and never panics on bad settings, but its results are
    /// meaningless with them, so call it where settings are loaded and report the message.
    ///
    /// # Errors
    ///
    /// A message naming the first offending field and its value.
    pub fn validate(&self) -> Result<(), String> {
        // Written as a negated comparison so NaN is rejected too.
        if !(self.sensitivity.is_finite() && self.sensitivity > 0.0) {
            return Err(format!(
                "sensitivity must be a finite number greater than 0, got {}",
                self.sensitivity
            ));
        }
        if self.training_buckets < 2 {
            return Err(format!(
                "training_buckets must be at least 2 to have a standard deviation, got {}",
                self.training_buckets
            ));
        }
        if self.min_training < 2 {
            return Err(format!(
                "min_training must be at least 2 to have a standard deviation, got {}",
                self.min_training
            ));
        }
        if self.min_training > self.training_buckets {
            return Err(format!(
                "min_training ({}) must not exceed training_buckets ({})",
                self.min_training, self.training_buckets
            ));
        }
        if self.detection_buckets < 1 {
            return Err("detection_buckets must be at least 1, got 0".to_string());
        }
        Ok(())
    }
}

/// One bucket of a monitor's metric series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Start of the time bucket (midnight for daily buckets, the top of the hour for hourly).
    pub bucket: NaiveDateTime,
    /// The metric for the bucket; `None` when it has no value (the null rate of a bucket without
    /// rows). NaN and infinities are treated as `None`.
    pub value: Option<f64>,
}

/// Outcome of assessing one detection bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentStatus {
    /// The value lies within the expected range (on the side [`Direction`] watches).
    Normal,
    /// The value lies outside the expected range; `is_anomaly` is true.
    Anomalous,
    /// Fewer than `min_training` usable training values, so the bucket was not scored. Also used
    /// in the practically unreachable case of training values so large (near `f64::MAX`) that
    /// their statistics overflow.
    InsufficientTraining,
    /// The bucket itself has no value; the expected range is still given when training allows.
    NoValue,
}

/// The verdict on one detection bucket, with the numbers behind it.
///
/// Every number is finite, so assessments can be stored and serialized as JSON as they are.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The bucket assessed.
    pub bucket: NaiveDateTime,
    /// The bucket's value, `None` when it had none (or a non-finite one).
    pub value: Option<f64>,
    /// `(value - training_mean) / s`, where `s` is `training_stddev` raised to the floor
    /// `max(0.01 * |training_mean|, 1e-9)`; `None` unless the status is normal or anomalous.
    pub score: Option<f64>,
    /// `training_mean - sensitivity * s` (see `score` for `s`); `None` without enough training.
    pub expected_low: Option<f64>,
    /// `training_mean + sensitivity * s` (see `score` for `s`); `None` without enough training.
    pub expected_high: Option<f64>,
    /// Mean of the training values, whenever there is at least one.
    pub training_mean: Option<f64>,
    /// Sample (n - 1) standard deviation of the training values, before the floor, whenever
    /// there are at least two.
    pub training_stddev: Option<f64>,
    /// How many training values were used.
    pub training_size: usize,
    /// Whether to alert: true exactly when the status is anomalous.
    pub is_anomaly: bool,
    /// Why the bucket was or was not flagged.
    pub status: AssessmentStatus,
}

/// Assesses the newest `settings.detection_buckets` points of a monitor series.
///
/// `series` may be in any order and may have gaps; it is sorted by bucket here. A missing bucket
/// is simply absent, so for count metrics (row counts) the caller must pass an explicit zero for
/// a bucket with no rows, or a table that stopped loading looks like one with a shorter history.
/// Buckets are expected to be unique; a duplicated bucket is assessed as two points that do not
/// train each other.
///
/// For each detection bucket the training values are the newest `training_buckets` non-empty
/// values strictly before it, excluding the other detection buckets and, with
/// [`Seasonality::DayOfWeek`], buckets on another weekday or hour. Returns one [`Assessment`] per
/// detection bucket, oldest first; fewer when the series is shorter than `detection_buckets`.
pub fn assess(series: &[Point], settings: &AnomalySettings) -> Vec<Assessment> {
    let mut sorted = series.to_vec();
    sorted.sort_by_key(|point| point.bucket);
    let first_detection = sorted.len().saturating_sub(settings.detection_buckets);
    let (history, detection) = sorted.split_at(first_detection);
    detection
        .iter()
        .map(|point| assess_point(point, history, settings))
        .collect()
}

/// Scores one detection point against the training values `history` offers for it.
fn assess_point(point: &Point, history: &[Point], settings: &AnomalySettings) -> Assessment {
    let training: Vec<f64> = history
        .iter()
        .rev()
        .filter(|earlier| earlier.bucket < point.bucket)
        .filter(|earlier| same_season(earlier.bucket, point.bucket, settings.seasonality))
        .filter_map(|earlier| usable(earlier.value))
        .take(settings.training_buckets)
        .collect();
    let (training_mean, training_stddev) = mean_and_stddev(&training);
    let value = usable(point.value);

    // A standard deviation needs two values whatever min_training says.
    let enough_training = training.len() >= settings.min_training.max(2);
    let baseline = match (training_mean, training_stddev) {
        (Some(mean), Some(stddev)) if enough_training => Some((mean, floored(stddev, mean))),
        _ => None,
    };
    let k = settings.sensitivity;
    let expected_low = baseline.and_then(|(mean, s)| finite(mean - k * s));
    let expected_high = baseline.and_then(|(mean, s)| finite(mean + k * s));
    let score = match (value, baseline) {
        (Some(value), Some((mean, s))) => finite((value - mean) / s),
        _ => None,
    };

    let status = match (value, score) {
        (None, _) => AssessmentStatus::NoValue,
        (Some(_), None) => AssessmentStatus::InsufficientTraining,
        (Some(_), Some(z)) if outside(z, k, settings.direction) => AssessmentStatus::Anomalous,
        (Some(_), Some(_)) => AssessmentStatus::Normal,
    };
    Assessment {
        bucket: point.bucket,
        value,
        score,
        expected_low,
        expected_high,
        training_mean,
        training_stddev,
        training_size: training.len(),
        is_anomaly: status == AssessmentStatus::Anomalous,
        status,
    }
}

/// Whether `earlier` may train the detection bucket `detected` under `seasonality`.
fn same_season(earlier: NaiveDateTime, detected: NaiveDateTime, seasonality: Seasonality) -> bool {
    match seasonality {
        Seasonality::None => true,
        Seasonality::DayOfWeek => {
            earlier.weekday() == detected.weekday() && earlier.hour() == detected.hour()
        }
    }
}

/// Whether score `z` is anomalous at sensitivity `k` for `direction`. False for a NaN `k`.
fn outside(z: f64, k: f64, direction: Direction) -> bool {
    match direction {
        Direction::Both => z.abs() > k,
        Direction::Spike => z > k,
        Direction::Drop => z < -k,
    }
}

/// The deviation scoring uses: see [`RELATIVE_STDDEV_FLOOR`] and [`ABSOLUTE_STDDEV_FLOOR`].
fn floored(stddev: f64, mean: f64) -> f64 {
    stddev
        .max(RELATIVE_STDDEV_FLOOR * mean.abs())
        .max(ABSOLUTE_STDDEV_FLOOR)
}

/// A value worth computing with: `None` for missing, NaN and infinite values.
fn usable(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

/// Keeps a result storable: NaN becomes `None`, an overflow to infinity becomes `±f64::MAX`.
fn finite(x: f64) -> Option<f64> {
    (!x.is_nan()).then(|| x.clamp(f64::MIN, f64::MAX))
}

/// Mean (one value or more) and sample standard deviation (two or more) of finite `values`.
///
/// Welford's update avoids the cancellation of `sum(x^2) - n * mean^2`, which loses every digit
/// of the deviation for large, stable metrics (row counts in the billions). Both are `None` if
/// the arithmetic overflows, which needs values near `f64::MAX`.
fn mean_and_stddev(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let mut mean = 0.0;
    let mut sum_sq_dev = 0.0;
    for (i, &x) in values.iter().enumerate() {
        let delta = x - mean;
        mean += delta / (i + 1) as f64;
        sum_sq_dev += delta * (x - mean);
    }
    if !(mean.is_finite() && sum_sq_dev.is_finite()) {
        return (None, None);
    }
    match values.len() {
        0 => (None, None),
        1 => (Some(mean), None),
        n => (Some(mean), Some((sum_sq_dev / (n - 1) as f64).sqrt())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate, Weekday};

    /// Day 0 of every generated series: Monday 2024-01-01, so `day % 7 == 5` is a Saturday.
    fn start() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 1, 1)
            .expect("valid date")
            .and_hms_opt(0, 0, 0)
            .expect("valid time")
    }

    fn day(i: i64) -> NaiveDateTime {
        start() + Duration::days(i)
    }

    /// Deterministic noise in `[-1, 1)` from a 64-bit LCG (Knuth's MMIX constants).
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        }
    }

    fn daily(values: &[f64]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| Point {
                bucket: day(i as i64),
                value: Some(v),
            })
            .collect()
    }

    /// `days` of row counts around 1000, ± 50.
    fn volume(days: usize) -> Vec<f64> {
        let mut noise = Noise(42);
        (0..days).map(|_| 1000.0 + 50.0 * noise.next()).collect()
    }

    /// `days` of a weekly pattern: weekdays around 1000 (± 20), weekends around 400 (± 10).
    fn seasonal(days: usize) -> Vec<f64> {
        let mut noise = Noise(7);
        (0..days)
            .map(|i| {
                if i % 7 >= 5 {
                    400.0 + 10.0 * noise.next()
                } else {
                    1000.0 + 20.0 * noise.next()
                }
            })
            .collect()
    }

    fn with(direction: Direction) -> AnomalySettings {
        AnomalySettings {
            direction,
            ..AnomalySettings::default()
        }
    }

    fn weekly() -> AnomalySettings {
        AnomalySettings {
            seasonality: Seasonality::DayOfWeek,
            ..AnomalySettings::default()
        }
    }

    fn assert_finite(assessments: &[Assessment]) {
        for a in assessments {
            for x in [
                a.value,
                a.score,
                a.expected_low,
                a.expected_high,
                a.training_mean,
                a.training_stddev,
            ]
            .into_iter()
            .flatten()
            {
                assert!(x.is_finite(), "non-finite number in {a:?}");
            }
        }
    }

    fn anomalous_buckets(assessments: &[Assessment]) -> Vec<NaiveDateTime> {
        assessments
            .iter()
            .filter(|a| a.is_anomaly)
            .map(|a| a.bucket)
            .collect()
    }

    #[test]
    fn spike_on_last_day_is_flagged_by_spike_and_both_only() {
        let mut values = volume(30);
        values[29] = 3000.0;
        let series = daily(&values);
        for direction in [Direction::Both, Direction::Spike] {
            let result = assess(&series, &with(direction));
            assert_eq!(result.len(), 2);
            assert_eq!(result[0].bucket, day(28));
            assert_eq!(result[0].status, AssessmentStatus::Normal);
            assert_eq!(result[1].bucket, day(29));
            assert_eq!(result[1].status, AssessmentStatus::Anomalous);
            assert!(result[1].is_anomaly);
            assert!(result[1].score.is_some_and(|z| z > 20.0), "{:?}", result[1]);
            assert_eq!(result[1].training_size, 14);
            assert_finite(&result);
        }
        let result = assess(&series, &with(Direction::Drop));
        assert_eq!(anomalous_buckets(&result), vec![]);
        assert_eq!(result[1].status, AssessmentStatus::Normal);
    }

    #[test]
    fn drop_on_last_day_is_flagged_by_drop_and_both_only() {
        let mut values = volume(30);
        values[29] = 100.0;
        let series = daily(&values);
        for direction in [Direction::Both, Direction::Drop] {
            let result = assess(&series, &with(direction));
            assert_eq!(anomalous_buckets(&result), vec![day(29)]);
            assert!(result[1].score.is_some_and(|z| z < -20.0));
        }
        let result = assess(&series, &with(Direction::Spike));
        assert_eq!(anomalous_buckets(&result), vec![]);
    }

    #[test]
    fn level_shift_flags_both_detection_buckets_right_after_it() {
        let mut values = volume(30);
        for v in &mut values[20..] {
            *v += 600.0;
        }
        let series = daily(&values[..22]);
        let result = assess(&series, &AnomalySettings::default());
        assert_eq!(anomalous_buckets(&result), vec![day(20), day(21)]);
        // The second shifted day is not trained on the first, or the shift would mask itself.
        assert_eq!(result[0].training_mean, result[1].training_mean);
        assert_eq!(result[1].training_size, 14);
    }

    #[test]
    fn weekly_pattern_raises_no_alarm_with_day_of_week_seasonality() {
        let values = seasonal(16 * 7);
        let mut assessed = 0;
        // Slide the end of the series over the last 8 weeks, one day at a time.
        for end in (8 * 7)..=(16 * 7) {
            let result = assess(&daily(&values[..end]), &weekly());
            assert_eq!(
                anomalous_buckets(&result),
                vec![],
                "series ending at day {end}"
            );
            assert_finite(&result);
            assessed += result
                .iter()
                .filter(|a| a.status == AssessmentStatus::Normal)
                .count();
        }
        // 57 windows of 2 buckets, each with at least 7 earlier weeks: every bucket was scored
        // and found normal, so the test is not passing by assessing nothing.
        assert_eq!(assessed, 57 * 2);
    }

    #[test]
    fn weekly_pattern_without_seasonality_hides_in_a_wide_range() {
        // 20 days from a Monday: detection buckets are day 18 (Friday) and day 19 (Saturday),
        // trained on days 4..=17 (10 weekdays, 4 weekend days).
        let values = seasonal(20);
        let settings = AnomalySettings::default();
        let result = assess(&daily(&values), &settings);
        assert_eq!(result[1].bucket.weekday(), Weekday::Sat);
        // The Saturday is not flagged: mixing weekdays and weekends into one training window
        // makes the deviation (~280) so wide that the weekend dip scores only about -1.5...
        assert_eq!(result[1].status, AssessmentStatus::Normal);
        let z = result[1].score.expect("scored");
        assert!((-1.7..-1.3).contains(&z), "z = {z}");
        // ...but the price is a range that reaches below zero: a weekday with no rows at all
        // would not be flagged either. DayOfWeek seasonality is what makes that detectable.
        assert!(result[0].expected_low.is_some_and(|low| low < 0.0));
        let mut empty_friday = values.clone();
        empty_friday[18] = 0.0;
        let plain = assess(&daily(&empty_friday), &settings);
        assert_eq!(plain[0].status, AssessmentStatus::Normal);
        let mut long = seasonal(15 * 7 + 5);
        *long.last_mut().expect("non-empty") = 0.0;
        let seasonal_result = assess(&daily(&long), &weekly());
        assert_eq!(seasonal_result[1].bucket.weekday(), Weekday::Fri);
        assert_eq!(seasonal_result[1].status, AssessmentStatus::Anomalous);
    }

    #[test]
    fn monday_spike_is_flagged_with_day_of_week_seasonality() {
        // 15 weeks plus one day: the series ends on a Monday, preceded by a Sunday.
        let mut values = seasonal(15 * 7 + 1);
        let monday = values.len() - 1;
        values[monday] = 2000.0;
        let result = assess(&daily(&values), &weekly());
        assert_eq!(result[1].bucket.weekday(), Weekday::Mon);
        assert_eq!(anomalous_buckets(&result), vec![day(monday as i64)]);
        assert_eq!(result[0].status, AssessmentStatus::Normal);
        assert_eq!(result[1].training_size, 14);
        let mean = result[1].training_mean.expect("trained");
        assert!(
            (980.0..1020.0).contains(&mean),
            "trained on Mondays only, mean {mean}"
        );
    }

    #[test]
    fn too_little_training_is_never_anomalous() {
        // 5 training values and 2 detection buckets, one of them a huge spike.
        let series = daily(&[10.0, 11.0, 9.0, 10.0, 10.0, 10.0, 1e6]);
        let result = assess(&series, &AnomalySettings::default());
        for a in &result {
            assert_eq!(a.status, AssessmentStatus::InsufficientTraining);
            assert!(!a.is_anomaly);
            assert_eq!(a.training_size, 5);
            assert_eq!(a.score, None);
            assert_eq!(a.expected_low, None);
            assert_eq!(a.training_mean, Some(10.0));
        }
        let lenient = AnomalySettings {
            min_training: 5,
            ..AnomalySettings::default()
        };
        let result = assess(&series, &lenient);
        assert_eq!(result[0].status, AssessmentStatus::Normal);
        assert_eq!(result[1].status, AssessmentStatus::Anomalous);
    }

    #[test]
    fn stddev_floor_keeps_real_changes_and_ignores_trivial_ones() {
        let mut null_rate = vec![0.0; 14];
        null_rate.push(0.5);
        let result = assess(&daily(&null_rate), &with(Direction::Both));
        assert_eq!(result[1].status, AssessmentStatus::Anomalous);
        assert_eq!(result[1].training_stddev, Some(0.0));
        assert_eq!(result[1].score, Some(0.5 / 1e-9));

        let mut rows = vec![1000.0; 14];
        rows.push(1001.0);
        let result = assess(&daily(&rows), &AnomalySettings::default());
        assert_eq!(result[1].status, AssessmentStatus::Normal);
        // The floor is 1% of the mean: 10 rows.
        assert_eq!(result[1].score, Some(0.1));
        assert_eq!(result[1].expected_low, Some(970.0));
        assert_eq!(result[1].expected_high, Some(1030.0));
        assert_finite(&result);

        // A 4% change on a constant history is still caught.
        *rows.last_mut().expect("non-empty") = 1040.0;
        let result = assess(&daily(&rows), &AnomalySettings::default());
        assert_eq!(result[1].status, AssessmentStatus::Anomalous);
        assert_eq!(result[1].score, Some(4.0));
    }

    #[test]
    fn hand_computed_statistics_match() {
        let settings = AnomalySettings {
            training_buckets: 4,
            detection_buckets: 1,
            sensitivity: 2.0,
            min_training: 2,
            ..AnomalySettings::default()
        };
        let series = daily(&[999.0, 10.0, 12.0, 14.0, 16.0, 20.0]);
        let result = assess(&series, &settings);
        assert_eq!(result.len(), 1);
        let a = &result[0];
        assert_eq!(a.training_size, 4, "only the newest 4 values train");
        assert_eq!(a.training_mean, Some(13.0));
        let stddev = (20.0_f64 / 3.0).sqrt();
        let close = |x: Option<f64>, want: f64| x.is_some_and(|x| (x - want).abs() < 1e-12);
        assert!(close(a.training_stddev, 2.581_988_897_471_611), "{a:?}");
        assert!(close(a.score, 2.711_088_342_345_192), "{a:?}");
        assert!(close(a.expected_low, 13.0 - 2.0 * stddev), "{a:?}");
        assert!(close(a.expected_high, 18.163_977_794_943_22), "{a:?}");
        assert_eq!(a.status, AssessmentStatus::Anomalous);

        let strict = AnomalySettings {
            sensitivity: 3.0,
            ..settings
        };
        assert_eq!(assess(&series, &strict)[0].status, AssessmentStatus::Normal);
    }

    #[test]
    fn hourly_buckets_train_on_the_same_weekday_and_hour() {
        // Hourly from Monday 2024-01-01 00:00 to Monday 2024-01-22 09:00. Each value encodes its
        // hour, weekday and week, so the training mean shows exactly which buckets were used.
        let hours = 21 * 24 + 9;
        let series: Vec<Point> = (0..=hours)
            .map(|h| {
                let bucket = start() + Duration::hours(h);
                let value = f64::from(bucket.hour()) * 1000.0
                    + f64::from(bucket.weekday().num_days_from_monday()) * 100.0
                    + (h / (7 * 24)) as f64;
                Point {
                    bucket,
                    value: Some(value),
                }
            })
            .collect();
        let settings = AnomalySettings {
            detection_buckets: 1,
            min_training: 3,
            seasonality: Seasonality::DayOfWeek,
            ..AnomalySettings::default()
        };
        let result = assess(&series, &settings);
        let a = &result[0];
        assert_eq!(a.bucket.weekday(), Weekday::Mon);
        assert_eq!(a.bucket.hour(), 9);
        assert_eq!(a.value, Some(9003.0));
        // Mondays 09:00 of weeks 0, 1 and 2.
        assert_eq!(a.training_size, 3);
        assert_eq!(a.training_mean, Some(9001.0));
        assert_eq!(a.training_stddev, Some(1.0));
        assert_eq!(a.status, AssessmentStatus::Normal);
    }

    #[test]
    fn unsorted_gappy_series_with_missing_values() {
        let mut values = volume(24);
        values[23] = 3000.0;
        let mut series = daily(&values);
        // Gaps: days 3 and 10 never reported.
        series.retain(|p| p.bucket != day(3) && p.bucket != day(10));
        // Empty and broken values inside the training window.
        for (i, broken) in [(12, None), (15, Some(f64::NAN)), (18, Some(f64::INFINITY))] {
            if let Some(p) = series.iter_mut().find(|p| p.bucket == day(i)) {
                p.value = broken;
            }
        }
        // The first detection bucket has no value.
        if let Some(p) = series.iter_mut().find(|p| p.bucket == day(22)) {
            p.value = None;
        }
        let sorted_result = assess(&series, &AnomalySettings::default());
        // Shuffle deterministically: odd positions reversed, then even ones.
        let shuffled: Vec<Point> = series
            .iter()
            .skip(1)
            .step_by(2)
            .rev()
            .chain(series.iter().step_by(2))
            .copied()
            .collect();
        assert_ne!(shuffled, series);
        let result = assess(&shuffled, &AnomalySettings::default());
        assert_eq!(result, sorted_result);

        assert_eq!(result[0].bucket, day(22));
        assert_eq!(result[0].status, AssessmentStatus::NoValue);
        assert_eq!(result[0].value, None);
        assert_eq!(result[0].score, None);
        assert!(result[0].expected_low.is_some(), "range still shown");
        assert_eq!(result[1].bucket, day(23));
        assert_eq!(result[1].status, AssessmentStatus::Anomalous);
        // Training is days 0..=21 minus 2 gaps and 3 unusable values, newest 14 of the rest.
        let usable_days: Vec<usize> = (0..22)
            .filter(|d| ![3, 10, 12, 15, 18].contains(d))
            .collect();
        let training = &usable_days[usable_days.len() - 14..];
        let mean = training.iter().map(|&d| values[d]).sum::<f64>() / 14.0;
        assert_eq!(result[1].training_size, 14);
        assert!(result[1]
            .training_mean
            .is_some_and(|m| (m - mean).abs() < 1e-9));
        assert_finite(&result);
    }

    #[test]
    fn duplicated_bucket_does_not_train_its_twin() {
        // Day 14 twice: 2000 (sorted first, so it falls in the history) and 5000 (detected).
        let mut series = daily(&[1000.0; 14]);
        series.push(Point {
            bucket: day(14),
            value: Some(2000.0),
        });
        series.push(Point {
            bucket: day(14),
            value: Some(5000.0),
        });
        let settings = AnomalySettings {
            detection_buckets: 1,
            ..AnomalySettings::default()
        };
        let result = assess(&series, &settings);
        assert_eq!(result.len(), 1);
        assert_eq!(result[0].value, Some(5000.0));
        assert_eq!(result[0].training_size, 14);
        assert_eq!(result[0].training_mean, Some(1000.0));
    }

    #[test]
    fn short_and_empty_series() {
        assert_eq!(assess(&[], &AnomalySettings::default()), vec![]);
        let result = assess(&daily(&[5.0]), &AnomalySettings::default());
        assert_eq!(result.len(), 1);
        assert_eq!(result[0].status, AssessmentStatus::InsufficientTraining);
        assert_eq!(result[0].training_mean, None);
    }

    #[test]
    fn huge_values_stay_finite() {
        let mut values = vec![f64::MAX, -f64::MAX, f64::MAX, -f64::MAX];
        values.extend([0.0; 10]);
        values.extend([1.0, f64::MAX]);
        let result = assess(&daily(&values), &AnomalySettings::default());
        assert_finite(&result);
        let settings = AnomalySettings {
            training_buckets: 2,
            min_training: 2,
            ..AnomalySettings::default()
        };
        let result = assess(
            &daily(&[-f64::MAX, -f64::MAX, -f64::MAX, f64::MAX]),
            &settings,
        );
        assert_finite(&result);
        assert_eq!(result[1].score, Some(f64::MAX));
        assert_eq!(result[1].status, AssessmentStatus::Anomalous);
    }

    #[test]
    fn validate_names_the_bad_field() {
        assert_eq!(AnomalySettings::default().validate(), Ok(()));
        let cases = [
            (
                AnomalySettings {
                    sensitivity: 0.0,
                    ..AnomalySettings::default()
                },
                "sensitivity must be a finite number greater than 0, got 0",
            ),
            (
                AnomalySettings {
                    sensitivity: f64::NAN,
                    ..AnomalySettings::default()
                },
                "sensitivity must be a finite number greater than 0, got NaN",
            ),
            (
                AnomalySettings {
                    training_buckets: 1,
                    min_training: 1,
                    ..AnomalySettings::default()
                },
                "training_buckets must be at least 2 to have a standard deviation, got 1",
            ),
            (
                AnomalySettings {
                    min_training: 1,
                    ..AnomalySettings::default()
                },
                "min_training must be at least 2 to have a standard deviation, got 1",
            ),
            (
                AnomalySettings {
                    min_training: 15,
                    ..AnomalySettings::default()
                },
                "min_training (15) must not exceed training_buckets (14)",
            ),
            (
                AnomalySettings {
                    detection_buckets: 0,
                    ..AnomalySettings::default()
                },
                "detection_buckets must be at least 1, got 0",
            ),
        ];
        for (settings, message) in cases {
            assert_eq!(settings.validate(), Err(message.to_string()));
        }
    }

    #[test]
    fn settings_deserialize_with_defaults_and_reject_unknown_fields() {
        let settings: AnomalySettings = serde_json::from_str(
            r#"{"sensitivity": 2.5, "direction": "drop", "seasonality": "day_of_week"}"#,
        )
        .expect("valid settings");
        assert_eq!(
            settings,
            AnomalySettings {
                sensitivity: 2.5,
                direction: Direction::Drop,
                seasonality: Seasonality::DayOfWeek,
                ..AnomalySettings::default()
            }
        );
        let err = serde_json::from_str::<AnomalySettings>(r#"{"sensitivty": 2.5}"#)
            .expect_err("typo rejected");
        assert!(
            err.to_string().contains("unknown field `sensitivty`"),
            "{err}"
        );
        assert_eq!(
            serde_json::to_string(&AssessmentStatus::InsufficientTraining).expect("serializes"),
            r#""insufficient_training""#
        );
    }
}
