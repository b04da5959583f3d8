//! `bench.svg`: throughput against batch size per stage and backend (log axes) beside a
//! stacked bar of each backend's end-to-end stage times, drawn with plotters' SVG backend.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::e2e::E2eRow;
use super::sweep::{Row, stage_name};

const SIZE: (u32, u32) = (1400, 560);

fn colour(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

/// The chart as SVG text; `title` heads it (machine and adapter).
pub fn svg(title: &str, rows: &[Row], e2e: &[E2eRow]) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let root = root.titled(title, ("sans-serif", 18)).map_err(draw_err)?;
        let (left, right) = root.split_horizontally(SIZE.0 * 3 / 5);
        throughput(&left, rows)?;
        stages(&right, e2e)?;
        root.present().map_err(draw_err)?;
    }
    Ok(out)
}

fn draw_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the chart: {e:?}")
}

fn stage_colour(name: &str) -> RGBColor {
    match name {
        "verify_strict" => colour(0),
        "verify_zip215" => colour(2),
        _ => colour(4),
    }
}

/// One line of the throughput chart: stage, backend, (size, items/s) points.
type Series = (&'static str, &'static str, Vec<(f64, f64)>);

fn throughput(area: &DrawingArea<SVGBackend<'_>, Shift>, rows: &[Row]) -> anyhow::Result<()> {
    let mut series: Vec<Series> = Vec::new();
    for r in rows.iter().filter(|r| r.per_s > 0.0) {
        let stage = stage_name(r.stage);
        match series
            .iter_mut()
            .find(|(s, b, _)| *s == stage && *b == r.backend)
        {
            Some((_, _, pts)) => pts.push((r.size as f64, r.per_s)),
            None => series.push((stage, r.backend, vec![(r.size as f64, r.per_s)])),
        }
    }
    let mut sizes: Vec<f64> = rows.iter().map(|r| r.size as f64).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    let xs = || series.iter().flat_map(|s| s.2.iter().map(|p| p.0));
    let ys = || series.iter().flat_map(|s| s.2.iter().map(|p| p.1));
    let (x0, x1) = bounds(xs(), 256.0, 1_048_576.0);
    let (y0, y1) = bounds(ys(), 1e3, 1e8);
    let x_axis = if sizes.is_empty() {
        (x0..x1)
            .log_scale()
            .with_key_points(vec![256.0, 4096.0, 65536.0, 1_048_576.0])
    } else {
        (x0..x1).log_scale().with_key_points(sizes)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(
            "throughput against batch size (log axes; GPU solid, CPU dashed, auto dotted)",
            ("sans-serif", 15),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_axis, (y0..y1).log_scale())
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("batch size (items)")
        .y_desc("items per second")
        .x_label_formatter(&|v| si(*v))
        .y_label_formatter(&|v| si(*v))
        .draw()
        .map_err(draw_err)?;
    if series.is_empty() {
        chart
            .draw_series(std::iter::once(Text::new(
                "no sweep in this report (run with --sweep)",
                (x0 * 2.0, (y0 * y1).sqrt()),
                ("sans-serif", 15),
            )))
            .map_err(draw_err)?;
    }
    for (stage, backend, pts) in &series {
        let c = stage_colour(stage);
        let name = format!("{stage} {backend}");
        let pts = pts.iter().copied();
        let drawn = match *backend {
            "gpu" => chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(3))),
            "cpu" => {
                chart.draw_series(DashedLineSeries::new(pts.clone(), 10, 5, c.stroke_width(2)))
            }
            _ => chart.draw_series(DashedLineSeries::new(pts.clone(), 2, 4, c.stroke_width(2))),
        }
        .map_err(draw_err)?;
        let width = if *backend == "gpu" { 3 } else { 1 };
        drawn.label(name).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(width))
        });
        chart
            .draw_series(pts.map(|p| Circle::new(p, 3, c.filled())))
            .map_err(draw_err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

const STAGES: [&str; 7] = [
    "decode", "hash", "verify", "resolve", "schedule", "execute", "commit",
];

fn stage_values(r: &E2eRow) -> [f64; 7] {
    let s = &r.stages_ns;
    [
        s.decode_ns,
        s.hash_ns,
        s.verify_ns,
        s.resolve_ns,
        s.schedule_ns,
        s.execute_ns,
        s.commit_ns,
    ]
    .map(|ns| ns as f64 / 1e6)
}

fn stages(area: &DrawingArea<SVGBackend<'_>, Shift>, e2e: &[E2eRow]) -> anyhow::Result<()> {
    let totals: Vec<f64> = e2e.iter().map(|r| stage_values(r).iter().sum()).collect();
    let top = totals.iter().copied().fold(0.0, f64::max).max(1e-3) * 1.15;
    let n = e2e.len().max(1);
    let labels: Vec<String> = e2e.iter().map(|r| r.label.clone()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(
            "end-to-end stage times per backend (median pass)",
            ("sans-serif", 15),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((0..n).into_segmented(), 0f64..top)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                labels.get(*i).cloned().unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        })
        .y_desc("milliseconds per pass")
        .draw()
        .map_err(draw_err)?;
    for (k, stage) in STAGES.iter().enumerate() {
        let c = colour(k);
        let bars: Vec<Rectangle<(SegmentValue<usize>, f64)>> = e2e
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let v = stage_values(r);
                let below: f64 = v[..k].iter().sum();
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), below),
                        (SegmentValue::Exact(i + 1), below + v[k]),
                    ],
                    c.filled(),
                );
                bar.set_margin(0, 0, 12, 12);
                bar
            })
            .collect();
        chart
            .draw_series(bars)
            .map_err(draw_err)?
            .label(*stage)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
    }
    if e2e.is_empty() {
        chart
            .draw_series(std::iter::once(Text::new(
                "no end-to-end run in this report",
                (SegmentValue::Exact(0), top / 2.0),
                ("sans-serif", 15),
            )))
            .map_err(draw_err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

/// Log-axis bounds around the values, a factor of two outside them.
fn bounds(v: impl Iterator<Item = f64>, lo: f64, hi: f64) -> (f64, f64) {
    let (mut a, mut b) = (f64::MAX, 0f64);
    for x in v.filter(|x| *x > 0.0 && x.is_finite()) {
        a = a.min(x);
        b = b.max(x);
    }
    if b == 0.0 {
        (lo, hi)
    } else {
        (a / 2.0, b * 2.0)
    }
}

/// 1500 → "1.5k", 2e6 → "2M".
fn si(v: f64) -> String {
    let (d, s) = if v >= 1e9 {
        (1e9, "G")
    } else if v >= 1e6 {
        (1e6, "M")
    } else if v >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let x = v / d;
    if (x - x.round()).abs() < 0.05 {
        format!("{:.0}{s}", x)
    } else {
        format!("{x:.1}{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short() {
        assert_eq!(si(1500.0), "1.5k");
        assert_eq!(si(2e6), "2M");
        assert_eq!(si(256.0), "256");
        assert_eq!(bounds([10.0, 1000.0].into_iter(), 1.0, 2.0), (5.0, 2000.0));
        assert_eq!(bounds(std::iter::empty(), 1.0, 2.0), (1.0, 2.0));
    }

    #[test]
    fn an_empty_report_still_draws() {
        let s = svg("t", &[], &[]).unwrap();
        assert!(
            s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
            "{s}"
        );
    }
}
