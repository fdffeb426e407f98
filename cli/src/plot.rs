//! PNG plots for the benchmarks (plotters, bitmap backend, DejaVu Sans from the system fonts).

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::{coord::types::RangedCoordf64, prelude::*};

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
pub(crate) fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
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
