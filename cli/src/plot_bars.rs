//! Grouped bar charts: one group per category (e.g. a handler), one bar per series in each group.

use std::path::Path;

use anyhow::{bail, Context, Result};
use plotters::prelude::*;

use crate::plot::{draw_legend, ensure_font};

/// One named series: a value per group, in the order of the groups.
pub struct BarSeries {
    pub name: String,
    pub values: Vec<f64>,
}

/// Bars side by side within each group, groups along the x axis labelled by `groups`.
pub fn grouped_bars(
    path: &Path,
    title: &str,
    y_label: &str,
    groups: &[String],
    series: &[BarSeries],
) -> Result<()> {
    if let Some(s) = series.iter().find(|s| s.values.len() != groups.len()) {
        bail!(
            "series {:?} has {} values for {} groups",
            s.name,
            s.values.len(),
            groups.len()
        );
    }
    ensure_font()?;
    let y_max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(1.0, f64::max);
    let width = (120 * groups.len() as u32).clamp(800, 2400);
    let root = BitMapBackend::new(path, (width, 650)).into_drawing_area();
    root.fill(&WHITE)?;
    // Group i is centred on x = i, so the axis labels at integers sit under their groups.
    let x_range = -0.5..(groups.len() as f64 - 0.5).max(0.5);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(60)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, 0.0..y_max * 1.15)?;
    chart
        .configure_mesh()
        .y_desc(y_label)
        .disable_x_mesh()
        .x_labels(groups.len().max(1))
        .x_label_style(("sans-serif", 12))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 {
                groups.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .draw()?;
    let slot = 0.8 / series.len().max(1) as f64;
    for (k, s) in series.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let bars = s.values.iter().enumerate().map(|(i, &v)| {
            let left = i as f64 - 0.4 + k as f64 * slot;
            Rectangle::new([(left, 0.0), (left + slot * 0.9, v)], color.filled())
        });
        chart
            .draw_series(bars)?
            .label(s.name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled()));
    }
    draw_legend(&mut chart)?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, values: &[f64]) -> BarSeries {
        BarSeries {
            name: name.into(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn writes_a_png() {
        let path = std::env::temp_dir().join(format!("grouped-bars-{}.png", std::process::id()));
        let groups = vec!["A#a".to_owned(), "B#b".to_owned()];
        grouped_bars(
            &path,
            "t",
            "n",
            &groups,
            &[series("x", &[1.0, 2.0]), series("y", &[0.0, 3.5])],
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }

    #[test]
    fn a_series_of_the_wrong_length_is_refused_naming_it() {
        let path =
            std::env::temp_dir().join(format!("grouped-bars-bad-{}.png", std::process::id()));
        let groups = vec!["A#a".to_owned(), "B#b".to_owned()];
        let err = grouped_bars(&path, "t", "n", &groups, &[series("short", &[1.0])]).unwrap_err();
        assert!(err.to_string().contains("\"short\""), "{err}");
        assert!(!path.exists(), "nothing is written");
    }
}
