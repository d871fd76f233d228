//! The dashboard's charts, drawn as inline SVG from the last day's composes (no script, no
//! library): composes per hour by final state, the queue (waiting or generating) at each hour,
//! and percentiles of the generation time.

use chrono::NaiveDateTime;

use crate::domain::State;

/// The last day's composes: (state, submitted, started, done).
pub struct Charts {
    since: NaiveDateTime,
    rows: Vec<(
        i32,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    )>,
}

const W: f64 = 720.0;
const H: f64 = 180.0;
const HOURS: usize = 24;

impl Charts {
    pub fn of(
        rows: &[(
            i32,
            NaiveDateTime,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        )],
        since: NaiveDateTime,
    ) -> Self {
        Self {
            since,
            rows: rows.to_vec(),
        }
    }

    fn hour_of(&self, t: NaiveDateTime) -> Option<usize> {
        let h = (t - self.since).num_minutes().div_euclid(60);
        (0..HOURS as i64).contains(&h).then_some(h as usize)
    }

    /// Per hour of submission: (done, failed).
    fn per_hour(&self) -> Vec<(usize, usize)> {
        let mut out = vec![(0, 0); HOURS];
        for (state, submitted, _, _) in &self.rows {
            if let Some(h) = self.hour_of(*submitted) {
                match State::from_code(*state) {
                    Some(State::Done) => out[h].0 += 1,
                    Some(State::Failed) => out[h].1 += 1,
                    _ => {}
                }
            }
        }
        out
    }

    /// Stacked bars: done (green) under failed (red), one per hour.
    pub fn per_hour_svg(&self) -> String {
        let data = self.per_hour();
        let max = data.iter().map(|(d, f)| d + f).max().unwrap_or(0).max(1) as f64;
        let bw = W / HOURS as f64;
        let mut svg = svg_open("Composes per hour by final state");
        for (i, (d, f)) in data.iter().enumerate() {
            let x = i as f64 * bw + 1.0;
            let hd = *d as f64 / max * (H - 20.0);
            let hf = *f as f64 / max * (H - 20.0);
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hd:.1}\" fill=\"#22a355\"><title>hour {i}: {d} done</title></rect>",
                H - hd, bw - 2.0
            ));
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hf:.1}\" fill=\"#d43c3c\"><title>hour {i}: {f} failed</title></rect>",
                H - hd - hf, bw - 2.0
            ));
        }
        svg.push_str(&format!(
            "<text x=\"4\" y=\"12\" font-size=\"11\">max {max:.0} per hour</text></svg>"
        ));
        svg
    }

    /// At the end of each hour: composes submitted and not yet done or failed.
    pub fn queue_svg(&self) -> String {
        let mut depth = [0usize; HOURS];
        for (h, d) in depth.iter_mut().enumerate() {
            let t = self.since + chrono::Duration::hours(h as i64 + 1);
            *d = self
                .rows
                .iter()
                .filter(|(_, sub, _, done)| *sub <= t && done.is_none_or(|d| d > t))
                .count();
        }
        let max = depth.iter().copied().max().unwrap_or(0).max(1) as f64;
        let step = W / (HOURS - 1) as f64;
        let points: Vec<String> = depth
            .iter()
            .enumerate()
            .map(|(i, d)| {
                format!(
                    "{:.1},{:.1}",
                    i as f64 * step,
                    H - *d as f64 / max * (H - 20.0)
                )
            })
            .collect();
        let mut svg = svg_open("Queue depth (waiting or generating) at each hour");
        svg.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#2557a7\" stroke-width=\"2\"/>",
            points.join(" ")
        ));
        svg.push_str(&format!(
            "<text x=\"4\" y=\"12\" font-size=\"11\">max {max:.0}</text></svg>"
        ));
        svg
    }

    /// p50, p90, p99 of generation seconds (started → done) of the day's done composes.
    pub fn percentiles(&self) -> Vec<(String, String)> {
        let mut secs: Vec<f64> = self
            .rows
            .iter()
            .filter_map(|(_, _, s, d)| {
                Some(
                    (d.as_ref()?.signed_duration_since(*s.as_ref()?)).num_milliseconds() as f64
                        / 1000.0,
                )
            })
            .collect();
        secs.sort_by(|a, b| a.total_cmp(b));
        ["p50", "p90", "p99"]
            .iter()
            .zip([0.5, 0.9, 0.99])
            .map(|(name, q)| {
                let v = if secs.is_empty() {
                    "–".to_string()
                } else {
                    let i = ((secs.len() as f64 - 1.0) * q).round() as usize;
                    format!("{:.1} s", secs[i])
                };
                (name.to_string(), v)
            })
            .collect()
    }
}

fn svg_open(title: &str) -> String {
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{title}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{title}</title>"
    )
}
