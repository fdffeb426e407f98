//! PNG plots for the benchmarks (plotters, bitmap backend, DejaVu Sans from the system fonts).

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::{
    coord::{types::RangedCoordf64, CoordTranslate},
    prelude::*,
};

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Registers a TrueType font as "sans-serif" once; plots need one for their labels.
pub(crate) fn ensure_font() -> Result<()> {
    static FONT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    FONT.get_or_init(|| {
        let bytes = FONT_PATHS
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .ok_or_else(|| {
                format!("no DejaVu Sans font in {FONT_PATHS:?}: install fonts-dejavu-core")
            })?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| "the DejaVu Sans font could not be parsed".to_string())
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// A chart with f64 axes on a PNG.
pub(crate) type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws each series as a 2-pixel line in its palette colour, with a legend entry.
fn draw_lines<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, series: &[Series]) -> Result<()> {
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(&s.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    Ok(())
}

/// The legend box every plot of the project uses.
pub(crate) fn draw_legend<'a, 'b: 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'b>, CT>,
) -> Result<()> {
    legend_at(chart, SeriesLabelPosition::UpperRight)
}

/// The legend box, placed where the data leaves room.
fn legend_at<'a, 'b: 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'b>, CT>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// One named line of (x, y) points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Lines on one chart, e.g. latency CDFs.
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    ensure_font()?;
    let (mut x_max, mut y_max) = (1e-9f64, 1e-9f64);
    for s in series {
        for &(x, y) in &s.points {
            x_max = x_max.max(x);
            y_max = y_max.max(y);
        }
    }
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max * 1.05, 0.0..y_max * 1.05)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()?;
    draw_lines(&mut chart, series)?;
    draw_legend(&mut chart)?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Stacked bars: one bar per run, one segment per phase (values in ms).
pub fn stacked_bars(path: &Path, title: &str, phases: &[&str], runs: &[Vec<f64>]) -> Result<()> {
    ensure_font()?;
    let y_max = runs
        .iter()
        .map(|r| r.iter().sum::<f64>())
        .fold(1e-9, f64::max);
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..runs.len() as f64, 0.0..y_max * 1.1)?;
    chart
        .configure_mesh()
        .x_desc("run")
        .y_desc("milliseconds")
        .disable_x_mesh()
        .x_labels(runs.len() + 1)
        .x_label_formatter(&|x| format!("{}", x.floor() as usize))
        .draw()?;
    for (p, phase) in phases.iter().enumerate() {
        let color = Palette99::pick(p).to_rgba();
        let bars = runs.iter().enumerate().map(|(i, run)| {
            let base: f64 = run[..p].iter().sum();
            Rectangle::new(
                [(i as f64 + 0.15, base), (i as f64 + 0.85, base + run[p])],
                color.filled(),
            )
        });
        chart
            .draw_series(bars)?
            .label(*phase)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled()));
    }
    draw_legend(&mut chart)?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// One panel of a stacked timeline: lines over time, and optionally a labelled horizontal line.
pub struct Panel {
    pub y_label: String,
    /// The y axis reaches at least this (e.g. 1 for a ratio), so flat data still gets a scale.
    pub y_floor: f64,
    pub series: Vec<Series>,
    pub threshold: Option<(String, f64)>,
}

/// Panels stacked vertically over a shared time axis (seconds), with dashed vertical markers
/// (e.g. burst start and end) on every panel.
pub fn timeline(path: &Path, title: &str, panels: &[Panel], markers: &[f64]) -> Result<()> {
    ensure_font()?;
    let x_max = panels
        .iter()
        .flat_map(|p| p.series.iter().flat_map(|s| s.points.iter().map(|pt| pt.0)))
        .fold(1e-9, f64::max);
    let root = BitMapBackend::new(path, (1100, 260 * panels.len() as u32 + 50)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 24))?;
    for (panel, area) in panels.iter().zip(root.split_evenly((panels.len(), 1))) {
        let y_max = panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|pt| pt.1))
            .chain(panel.threshold.iter().map(|t| t.1))
            .fold(panel.y_floor.max(1e-9), f64::max);
        let mut chart = ChartBuilder::on(&area)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max * 1.1)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(panel.y_label.as_str())
            .draw()?;
        for &x in markers {
            chart.draw_series(DashedLineSeries::new(
                [(x, 0.0), (x, y_max * 1.1)],
                6,
                4,
                BLACK.mix(0.5).stroke_width(1),
            ))?;
        }
        if let Some((label, y)) = &panel.threshold {
            let color = RED.mix(0.8);
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, *y), (x_max, *y)],
                    8,
                    4,
                    color.stroke_width(2),
                ))?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        draw_lines(&mut chart, &panel.series)?;
        draw_legend(&mut chart)?;
    }
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// One run on a [`comparison`] plot, in its own colour on both panels.
pub struct Run {
    pub name: String,
    pub color: RGBColor,
    /// (seconds, latency in ms); drawn on a log scale.
    pub latency: Vec<(f64, f64)>,
    /// (seconds, completed requests/s).
    pub completed: Vec<(f64, f64)>,
}

/// Each point's y replaced by the mean of the `n` points centred on it (fewer at the ends): a
/// rate counted in short windows, readable at a glance.
pub fn rolling_mean(points: &[(f64, f64)], n: usize) -> Vec<(f64, f64)> {
    let half = n / 2;
    (0..points.len())
        .map(|i| {
            let span = &points[i.saturating_sub(half)..(i + half + 1).min(points.len())];
            let mean = span.iter().map(|p| p.1).sum::<f64>() / span.len() as f64;
            (points[i].0, mean)
        })
        .collect()
}

/// Runs of the same load side by side: latency (log scale) against a labelled SLO line, and the
/// completed rate against the offered one, with the burst shaded and labelled on both panels.
pub struct Comparison {
    pub title: String,
    pub latency_label: String,
    pub rate_label: String,
    pub runs: Vec<Run>,
    /// (seconds, requests/s sent): the offered load.
    pub sent: Vec<(f64, f64)>,
    pub slo_ms: f64,
    /// The burst: start and end (seconds) and its label.
    pub span: (f64, f64),
    pub span_label: String,
}

/// The colour of the SLO line (no run uses it) and of the burst's shading.
const SLO_COLOR: RGBColor = RGBColor(148, 0, 160);
const SPAN_COLOR: RGBColor = RGBColor(255, 190, 60);

/// "250 ms", "1.5 s": latency ticks a reader takes in at a glance.
fn format_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        let s = ms / 1000.0;
        if s >= 10.0 {
            format!("{s:.0} s")
        } else {
            format!("{s:.1} s")
        }
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// Writes a [`Comparison`] as a PNG: latency on top, completed rate below.
pub fn comparison(path: &Path, plot: &Comparison) -> Result<()> {
    ensure_font()?;
    let x_max = plot
        .runs
        .iter()
        .flat_map(|r| r.latency.iter().chain(&r.completed).map(|p| p.0))
        .chain(plot.sent.iter().map(|p| p.0))
        .fold(plot.span.1, f64::max)
        + 0.1;
    let latencies = || {
        plot.runs
            .iter()
            .flat_map(|r| r.latency.iter().map(|p| p.1))
            .filter(|&v| v > 0.0)
    };
    let y_lo = latencies().fold(plot.slo_ms, f64::min).max(0.5) / 1.6;
    let y_hi = latencies().fold(plot.slo_ms, f64::max) * 2.0;

    let root = BitMapBackend::new(path, (1200, 860)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&plot.title, ("sans-serif", 22))?;
    let (top, bottom) = root.split_vertically(480);

    // Latency, log scale: the calm baseline and a multi-second backlog both stay readable.
    let mut chart = ChartBuilder::on(&top)
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x_max, (y_lo..y_hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(plot.latency_label.as_str())
        .y_label_formatter(&|v| format_ms(*v))
        .draw()?;
    let (x0, x1) = plot.span;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(x0, y_lo), (x1, y_hi)],
            SPAN_COLOR.mix(0.22).filled(),
        )))?
        .label(plot.span_label.as_str())
        .legend(|(x, y)| {
            Rectangle::new([(x, y - 6), (x + 20, y + 6)], SPAN_COLOR.mix(0.5).filled())
        });
    chart.draw_series(std::iter::once(Text::new(
        plot.span_label.clone(),
        (x0 + 0.05 * (x1 - x0).max(0.5), y_hi / 1.25),
        ("sans-serif", 16).into_font().color(&RGBColor(140, 90, 0)),
    )))?;
    let slo_label = format!("SLO {}", format_ms(plot.slo_ms));
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, plot.slo_ms), (x_max, plot.slo_ms)],
            10,
            6,
            SLO_COLOR.stroke_width(2),
        ))?
        .label(slo_label.as_str())
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], SLO_COLOR.stroke_width(2)));
    chart.draw_series(std::iter::once(Text::new(
        slo_label.clone(),
        (x_max * 0.005, plot.slo_ms * 1.12),
        ("sans-serif", 15).into_font().color(&SLO_COLOR),
    )))?;
    for run in &plot.runs {
        let color = run.color;
        chart
            .draw_series(LineSeries::new(
                run.latency.iter().copied(),
                color.stroke_width(3),
            ))?
            .label(run.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    legend_at(&mut chart, SeriesLabelPosition::UpperLeft)?;

    // Completed rate against the offered load.
    let r_max = plot
        .runs
        .iter()
        .flat_map(|r| r.completed.iter().map(|p| p.1))
        .chain(plot.sent.iter().map(|p| p.1))
        .fold(1.0, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(&bottom)
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x_max, 0.0..r_max)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(plot.rate_label.as_str())
        .draw()?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x0, 0.0), (x1, r_max)],
        SPAN_COLOR.mix(0.22).filled(),
    )))?;
    let grey = RGBColor(110, 110, 110);
    chart
        .draw_series(DashedLineSeries::new(
            plot.sent.iter().copied(),
            6,
            4,
            grey.stroke_width(2),
        ))?
        .label("sent")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(2)));
    for run in &plot.runs {
        let color = run.color;
        chart
            .draw_series(LineSeries::new(
                run.completed.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(run.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    legend_at(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_ticks_read_as_ms_or_s() {
        assert_eq!(format_ms(4.25), "4.2 ms");
        assert_eq!(format_ms(140.0), "140 ms");
        assert_eq!(format_ms(3200.0), "3.2 s");
        assert_eq!(format_ms(12000.0), "12 s");
    }

    #[test]
    fn rolling_mean_averages_the_points_around_each() {
        let points = [(0.0, 0.0), (1.0, 30.0), (2.0, 0.0), (3.0, 30.0)];
        assert_eq!(
            rolling_mean(&points, 3),
            vec![(0.0, 15.0), (1.0, 10.0), (2.0, 20.0), (3.0, 15.0)]
        );
        assert_eq!(rolling_mean(&points, 1), points.to_vec());
    }

    #[test]
    fn comparison_writes_a_png() {
        let path = std::env::temp_dir().join(format!("comparison-{}.png", std::process::id()));
        let run = |name: &str, color, scale: f64| Run {
            name: name.into(),
            color,
            latency: (0..50)
                .map(|i| (i as f64 * 0.1, 10.0 + scale * i as f64))
                .collect(),
            completed: (0..50).map(|i| (i as f64 * 0.1, 20.0 + i as f64)).collect(),
        };
        comparison(
            &path,
            &Comparison {
                title: "t".into(),
                latency_label: "p99".into(),
                rate_label: "req/s".into(),
                runs: vec![run("a", RED, 100.0), run("b", BLUE, 1.0)],
                sent: vec![(0.0, 20.0), (1.0, 100.0), (3.0, 20.0)],
                slo_ms: 40.0,
                span: (1.0, 3.0),
                span_label: "burst".into(),
            },
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
}
