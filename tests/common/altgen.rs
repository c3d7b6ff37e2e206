//! A second LiveOne-shaped generator, written apart from `preflight fixture` and from the facts
//! of LIVEONE.md only, with deliberately different choices wherever the facts leave room: its own
//! random numbers, sample timing (a random phase per site, clock steps of a second, Fronius pushes
//! 56–64 s apart that wander over 5-minute boundaries), outages anywhere (also inside the
//! dual-write window), Fronius double pushes up to 10 s later, stale Selectronic polls, a legacy
//! Enphase gap that the live re-fetch filled, another backup time and deploy instant, and, on odd
//! seeds only, a live aggregator that also rolls up the text fault codes (NULL values, counted in
//! error_count), and on seeds divisible by 3 an export that missed the newest readings (but not
//! the point rows written with them). The checks must hold on it without knowing any of this.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, params};

/// splitmix64: small, and unlike the product's generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// in [lo, hi]
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

const LOCAL: i64 = 36_000; // AEST

fn local_hour(t: i64) -> f64 {
    ((t + LOCAL).rem_euclid(86_400)) as f64 / 3600.0
}

fn sun(t: i64) -> f64 {
    let h = local_hour(t);
    if !(6.2..19.1).contains(&h) {
        0.0
    } else {
        let x = (h - 6.2) / (19.1 - 6.2);
        // a flattened triangle, not a sine
        (1.0 - (2.0 * x - 1.0).abs()).powf(0.8)
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn js_round(x: f64) -> f64 {
    (x + 0.5).floor()
}

#[derive(Clone, Debug, Default)]
struct Sample {
    t: i64,
    received: i64,
    received_ms: i64,
    /// older than the raw readings kept: only the legacy 5-minute rows hold it
    legacy_only: bool,
    solar: Option<i64>,
    local: Option<i64>,
    remote: Option<i64>,
    load: Option<i64>,
    battery: Option<i64>,
    grid: Option<i64>,
    soc: Option<f64>,
    fault_code: Option<String>,
    fault_ts: Option<i64>,
    generator: Option<i64>,
    wh: [Option<i64>; 6],
    kwh: [Option<f64>; 6],
}

struct Site {
    id: i64,
    fronius: bool,
    readings: f64,
    intervals: f64,
    peak: f64,
    grid: bool,
    generator: bool,
}

const SITES: [Site; 3] = [
    Site {
        id: 1,
        fronius: false,
        readings: 93_199.0,
        intervals: 22_824.0,
        peak: 11_500.0,
        grid: false,
        generator: true,
    },
    Site {
        id: 2,
        fronius: false,
        readings: 96_215.0,
        intervals: 19_409.0,
        peak: 7_300.0,
        grid: true,
        generator: false,
    },
    Site {
        id: 5,
        fronius: true,
        readings: 64_174.0,
        intervals: 12_839.0,
        peak: 8_800.0,
        grid: true,
        generator: false,
    },
];

/// The live poller's point rows for one sample: (origin_sub_id, value, text).
fn live_points(fronius: bool, s: &Sample) -> Vec<(&'static str, Option<f64>, Option<String>)> {
    let mut out = Vec::new();
    let mut num = |k: &'static str, v: Option<f64>| {
        if let Some(v) = v {
            out.push((k, Some(v), None));
        }
    };
    let f = |v: Option<i64>| v.map(|x| x as f64);
    if fronius {
        num("solarW", f(s.solar));
        num("solarRemoteW", f(s.remote));
        num("solarLocalW", f(s.local));
        num("loadW", f(s.load));
        num("batteryW", f(s.battery));
        num("gridW", f(s.grid));
        num("batterySOC", s.soc);
        for (k, name) in [
            "solarWhInterval",
            "loadWhInterval",
            "batteryInWhInterval",
            "batteryOutWhInterval",
            "gridInWhInterval",
            "gridOutWhInterval",
        ]
        .into_iter()
        .enumerate()
        {
            num(name, f(s.wh[k]));
        }
    } else {
        num("solar_w", f(s.solar));
        num("solarinverter_w", f(s.remote));
        num("shunt_w", f(s.local));
        num("load_w", f(s.load));
        num("battery_w", f(s.battery));
        num("grid_w", f(s.grid));
        num("battery_soc", s.soc);
        num("gen_status", Some(s.generator.unwrap_or(0) as f64));
        for (k, name) in [
            "solar_wh_total",
            "load_wh_total",
            "battery_in_wh_total",
            "battery_out_wh_total",
            "grid_in_wh_total",
            "grid_out_wh_total",
        ]
        .into_iter()
        .enumerate()
        {
            num(name, s.kwh[k].map(|x| (x * 1000.0).round()));
        }
        if let Some(code) = s.fault_code.as_ref().filter(|c| c.as_str() != "0") {
            out.push(("fault_code", None, Some(code.clone())));
            if let Some(ts) = s.fault_ts {
                out.push(("fault_ts", Some((ts * 1000) as f64), None));
            }
        }
    }
    out
}

/// Sample times of one site, oldest first, with the index where kept readings begin.
fn times(site: &Site, n: usize, pre: usize, end: i64, rng: &mut Rng) -> Vec<i64> {
    let mut out = Vec::with_capacity(n + pre);
    let phase = rng.range(0, 59);
    let mut t = (end - 1).div_euclid(60) * 60 + phase;
    if t > end {
        t -= 60;
    }
    while out.len() < n + pre {
        out.push(t);
        if site.fronius && rng.chance(0.03) {
            // pushed twice: a second push some seconds after the first
            let again = t + rng.range(1, 10);
            if again < end && out.len() >= 2 && again < out[out.len() - 2] - 1 {
                out.push(again);
            }
        }
        if rng.chance(1.0 / 2_500.0) {
            t -= 60 * rng.range(20, 240); // an outage, anywhere
        }
        t -= if site.fronius {
            rng.range(56, 64)
        } else if rng.chance(0.003) {
            rng.range(59, 61) // the inverter clock steps by a second
        } else {
            60
        };
    }
    out.sort();
    out.dedup();
    out
}

/// A live 5-minute row: (written at ms, system, point, [avg, min, max, last], sample_count,
/// error_count, interval_end ms, updated_at ms).
type LiveAgg = (i64, i64, i64, [Option<f64>; 4], i64, i64, i64, i64);

pub struct Generated {
    /// The deploy instant (Unix seconds): live rows begin here.
    pub deploy: i64,
}

/// Write an alternative LiveOne-shaped database at `path`.
pub fn generate(path: &Path, seed: u64, scale: f64) -> Generated {
    let mut rng = Rng(seed.wrapping_mul(0xA24B_AED4_963E_E407) ^ 0x5151);
    let end = 1_762_408_379 - (seed % 5) as i64 * 3_517;
    let aggregate_text = seed % 2 == 1;
    let c = Connection::open(path).unwrap();
    let schema = std::fs::read_to_string(super::repo("fixtures/liveone/schema.sql")).unwrap();
    let schema: String = schema
        .lines()
        .filter(|l| !l.starts_with("CREATE TABLE sqlite_sequence"))
        .collect::<Vec<_>>()
        .join("\n");
    c.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        .unwrap();
    c.execute_batch(&schema).unwrap();
    c.execute_batch("BEGIN").unwrap();
    for (id, vendor, name) in [
        (1, "selectronic", "Alt Farm"),
        (2, "selectronic", "Alt House"),
        (3, "enphase", "Alt Roof"),
        (5, "fronius", "Alt Workshop"),
        (6, "mondo", "Alt Circuits"),
    ] {
        c.execute(
            "INSERT INTO systems (id, owner_clerk_user_id, vendor_type, vendor_site_id, display_name, short_name, created_at, updated_at) VALUES (?1, 'user_alt', ?2, ?3, ?4, ?5, 1700000000, 1700000000)",
            params![id, vendor, format!("site-{id}-{seed}"), name, format!("alt{id}")],
        )
        .unwrap();
    }
    let csv = std::fs::read_to_string(super::repo("fixtures/liveone/point_catalog.csv")).unwrap();
    let mut point_id: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for line in csv.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let (system, id): (i64, i64) = (f[0].parse().unwrap(), f[2].parse().unwrap());
        c.execute(
            "INSERT INTO point_info (system_id, id, origin_id, origin_sub_id, point_name, display_name, short_name, metric_type, metric_unit) VALUES (?1, ?2, ?3, ?4, ?4, ?4, ?5, ?6, ?7)",
            params![system, id, f[3], f[4], format!("{}-{id}", f[4]), f[5], f[6]],
        )
        .unwrap();
        point_id.insert((system, f[4].to_string()), id);
    }
    for (k, (user, system)) in [
        ("user_alt", 1),
        ("user_alt", 2),
        ("user_b", 5),
        ("user_b", 3),
    ]
    .iter()
    .enumerate()
    {
        c.execute(
            "INSERT INTO user_systems (clerk_user_id, system_id, role, created_at, updated_at) VALUES (?1, ?2, 'owner', ?3, ?3)",
            params![user, system, 1_700_000_000 + k as i64],
        )
        .unwrap();
    }
    c.execute(
        "INSERT INTO migrations (id, applied_at) VALUES ('0001_alt', 1700000000000), ('0002_points', 1760000000000)",
        [],
    )
    .unwrap();

    let smallest = SITES
        .iter()
        .map(|s| (s.readings * scale).max(120.0) * 60.0)
        .fold(f64::INFINITY, f64::min) as i64;
    let dual_len = (2 * 86_400).min(smallest / 3) + rng.range(0, 299);
    let deploy = end - dual_len;

    let mut legacy_rows: Vec<(i64, i64, Vec<rusqlite::types::Value>)> = Vec::new();
    let mut live_agg: Vec<LiveAgg> = Vec::new();
    for site in &SITES {
        let n = (site.readings * scale).round().max(120.0) as usize;
        let intervals = (site.intervals * scale).round() as usize;
        // older samples that only the legacy 5-minute rows remember
        let pre = (intervals * 5).saturating_sub(n).max(30);
        let ts = times(site, n, pre, end, &mut rng);
        let kept_from = ts.len().saturating_sub(n);
        // fault episodes: system 1 three over its history, system 2 one inside the window
        let first = ts[0];
        let faults: Vec<(i64, i64, &str)> = match site.id {
            1 => (0..3)
                .map(|k| {
                    let a = first + (end - first) * (k + 1) / 4 + rng.range(0, 3_000);
                    (
                        a,
                        a + rng.range(700, 4_000),
                        ["E007", "E021", "W150"][k as usize],
                    )
                })
                .collect(),
            2 => {
                let a = deploy + (end - deploy) / 3 + rng.range(0, 900);
                vec![(a, a + rng.range(1_000, 2_500), "E104")]
            }
            _ => vec![],
        };
        let mut soc: f64 = 40.0 + rng.unit() * 50.0;
        let mut kwh = [
            1_000.0 + rng.unit() * 30_000.0,
            900.0 + rng.unit() * 20_000.0,
            500.0 + rng.unit() * 9_000.0,
            400.0 + rng.unit() * 9_000.0,
            rng.unit() * 3_000.0,
            if site.grid { rng.unit() * 3_000.0 } else { 0.0 },
        ];
        let mut cloud = 0.8;
        let mut gen_on = false;
        let mut prev_t = ts[0] - 60;
        let mut samples = Vec::with_capacity(ts.len());
        for (i, &t) in ts.iter().enumerate() {
            let dt = (t - prev_t).max(1) as f64;
            prev_t = t;
            cloud = (cloud + (rng.unit() - 0.5) * 0.1).clamp(0.2, 1.0);
            let s = sun(t);
            let local_f = site.peak * 0.62 * s * cloud;
            let remote_f = site.peak * 0.38 * s * cloud * (0.95 + rng.unit() * 0.05);
            let h = local_hour(t);
            let load = 350.0
                + rng.unit() * 300.0
                + if (17.5..21.5).contains(&h) {
                    1_800.0
                } else {
                    0.0
                };
            let solar_f = if site.fronius {
                local_f
            } else {
                local_f + remote_f
            };
            let mut grid = 0.0;
            let net = solar_f - load;
            if site.generator {
                gen_on = if soc < 30.0 {
                    true
                } else if soc > 55.0 {
                    false
                } else {
                    gen_on
                };
            }
            let mut battery = if net >= 0.0 {
                if soc < 99.0 { -net.min(4_500.0) } else { 0.0 }
            } else {
                -net
            };
            if gen_on {
                grid = 4_000.0;
                battery -= 4_000.0;
            } else if site.grid && net >= 0.0 && soc >= 99.0 {
                grid = -net;
            } else if site.grid && net < 0.0 && soc < 25.0 {
                grid = -net;
                battery = 0.0;
            }
            soc = (soc - battery / 18_000.0 * 100.0 * dt / 3600.0).clamp(8.0, 100.0);
            let wh = [
                solar_f * dt / 3600.0,
                load * dt / 3600.0,
                (-battery).max(0.0) * dt / 3600.0,
                battery.max(0.0) * dt / 3600.0,
                grid.max(0.0) * dt / 3600.0,
                (-grid).max(0.0) * dt / 3600.0,
            ];
            for k in 0..6 {
                kwh[k] += wh[k] / 1000.0;
            }
            let received = t + rng.range(1, 6);
            let fault = faults.iter().find(|f| t >= f.0 && t < f.1);
            let mut x = Sample {
                t,
                received,
                received_ms: received * 1000 + rng.range(0, 999),
                legacy_only: i < kept_from,
                solar: Some(solar_f.round() as i64),
                local: Some(local_f.round() as i64),
                load: Some(load.round() as i64),
                battery: Some(battery.round() as i64),
                grid: Some(grid.round() as i64),
                soc: (!rng.chance(0.004)).then(|| (soc * 10.0).round() / 10.0),
                ..Sample::default()
            };
            if site.fronius {
                x.wh = wh.map(|e| Some(e.round() as i64));
            } else {
                x.remote = (s > 0.0).then(|| remote_f.round() as i64);
                x.fault_code = Some(fault.map_or("0", |f| f.2).to_string());
                x.fault_ts = Some(fault.map_or(0, |f| f.0));
                x.generator = gen_on.then_some(1);
                x.kwh = kwh.map(|e| Some(round3(e)));
            }
            samples.push(x);
        }
        // readings, sessions and the live app's point rows
        let vendor = if site.fronius {
            "fronius"
        } else {
            "selectronic"
        };
        for s in samples.iter().filter(|s| !s.legacy_only) {
            c.execute(
                "INSERT INTO sessions (session_label, system_id, vendor_type, system_name, cause, started, duration, successful, num_rows, created_at) VALUES (?1, ?2, ?3, 'alt', ?4, ?5, 900, 1, 1, ?6)",
                params![format!("alt-{}-{}", site.id, s.t), site.id, vendor, if site.fronius { "PUSH" } else { "POLL" }, s.received_ms - 900, s.received],
            )
            .unwrap();
            let session = c.last_insert_rowid();
            if !site.fronius && rng.chance(0.01) {
                // a stale poll: the same data timestamp again, rejected by the unique index
                c.execute(
                    "INSERT INTO sessions (session_label, system_id, vendor_type, system_name, cause, started, duration, successful, num_rows, created_at) VALUES (?1, ?2, ?3, 'alt', 'POLL', ?4, 700, 1, 0, ?5)",
                    params![format!("alt-stale-{}-{}", site.id, s.t), site.id, vendor, s.received_ms + 60_000, s.received + 60],
                )
                .unwrap();
            }
            c.execute(
                "INSERT INTO readings (system_id, inverter_time, received_time, delay_seconds, solar_w, solar_local_w, solar_remote_w, load_w, battery_w, grid_w, battery_soc, fault_code, fault_timestamp, generator_status, solar_wh_interval, load_wh_interval, battery_in_wh_interval, battery_out_wh_interval, grid_in_wh_interval, grid_out_wh_interval, solar_kwh_total, load_kwh_total, battery_in_kwh_total, battery_out_kwh_total, grid_in_kwh_total, grid_out_kwh_total, created_at, sequence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
                params![
                    site.id, s.t, s.received, s.received - s.t, s.solar, s.local, s.remote, s.load, s.battery, s.grid, s.soc,
                    s.fault_code, s.fault_ts, s.generator, s.wh[0], s.wh[1], s.wh[2], s.wh[3], s.wh[4], s.wh[5],
                    s.kwh[0], s.kwh[1], s.kwh[2], s.kwh[3], s.kwh[4], s.kwh[5], s.received + 1,
                    (!site.fronius).then(|| format!("q{}", s.t % 100_000))
                ],
            )
            .unwrap();
            if s.t >= deploy {
                for (name, v, text) in live_points(site.fronius, s) {
                    c.execute(
                        "INSERT INTO point_readings (system_id, point_id, session_id, measurement_time, received_time, value, data_quality, value_str) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'good', ?7)",
                        params![site.id, point_id[&(site.id, name.to_string())], session, s.t * 1000, s.received_ms, v, text],
                    )
                    .unwrap();
                }
            }
        }
        // the legacy helper: closed interval [end - 300, end], Math.round, last SOC and totals
        let mut closed: BTreeMap<i64, Vec<&Sample>> = BTreeMap::new();
        for s in &samples {
            let e = -(-s.t).div_euclid(300) * 300;
            closed.entry(e).or_default().push(s);
            if s.t == e {
                closed.entry(e + 300).or_default().push(s);
            }
        }
        for (e, group) in closed.into_iter().filter(|(e, _)| *e <= end) {
            let stat = |f: fn(&Sample) -> Option<i64>| -> [rusqlite::types::Value; 3] {
                let v: Vec<f64> = group
                    .iter()
                    .filter_map(|s| f(s))
                    .map(|x| x as f64)
                    .collect();
                if v.is_empty() {
                    return [
                        rusqlite::types::Value::Null,
                        rusqlite::types::Value::Null,
                        rusqlite::types::Value::Null,
                    ];
                }
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                [
                    rusqlite::types::Value::Integer(js_round(mean) as i64),
                    rusqlite::types::Value::Integer(
                        v.iter().copied().fold(f64::MAX, f64::min) as i64
                    ),
                    rusqlite::types::Value::Integer(
                        v.iter().copied().fold(f64::MIN, f64::max) as i64
                    ),
                ]
            };
            let mut row: Vec<rusqlite::types::Value> = Vec::new();
            row.extend(stat(|s| s.solar));
            row.push(rusqlite::types::Value::Null); // solar_interval_wh: Enphase only
            row.extend(stat(|s| s.load));
            row.extend(stat(|s| s.battery));
            row.extend(stat(|s| s.grid));
            let last = |f: &dyn Fn(&Sample) -> Option<f64>| {
                group
                    .iter()
                    .rev()
                    .find_map(|s| f(s))
                    .map_or(rusqlite::types::Value::Null, rusqlite::types::Value::Real)
            };
            row.push(last(&|s| s.soc));
            for k in 0..6 {
                row.push(last(&|s| s.kwh[k]));
            }
            row.push(rusqlite::types::Value::Integer(group.len() as i64));
            legacy_rows.push((e + rng.range(5, 90), site.id, {
                let mut v = vec![
                    rusqlite::types::Value::Integer(site.id),
                    rusqlite::types::Value::Integer(e),
                ];
                v.extend(row);
                v
            }));
        }
        // the live aggregator, from the deploy instant: (end - 300, end], every point with rows
        let mut open: BTreeMap<i64, Vec<&Sample>> = BTreeMap::new();
        for s in samples.iter().filter(|s| !s.legacy_only && s.t >= deploy) {
            open.entry(-(-s.t).div_euclid(300) * 300)
                .or_default()
                .push(s);
        }
        for (e, group) in open {
            let mut per: BTreeMap<i64, Vec<Option<f64>>> = BTreeMap::new();
            for s in &group {
                for (name, v, text) in live_points(site.fronius, s) {
                    if text.is_some() && !aggregate_text {
                        continue;
                    }
                    per.entry(point_id[&(site.id, name.to_string())])
                        .or_default()
                        .push(v);
                }
            }
            let (first_ms, last_ms) = (
                group[0].received_ms + 250,
                group[group.len() - 1].received_ms + 250,
            );
            for (pid, vals) in per {
                let v: Vec<f64> = vals.iter().flatten().copied().collect();
                let agg = [
                    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64),
                    v.iter().copied().reduce(f64::min),
                    v.iter().copied().reduce(f64::max),
                    v.last().copied(),
                ];
                live_agg.push((
                    first_ms,
                    site.id,
                    pid,
                    agg,
                    v.len() as i64,
                    (vals.len() - v.len()) as i64,
                    e * 1000,
                    last_ms,
                ));
            }
        }
    }

    // Enphase: 5-minute values only; the live writer re-fetched the whole deploy day
    let day_start = (deploy + LOCAL).div_euclid(86_400) * 86_400 - LOCAL;
    let want = ((18_903.0 * scale).round() as i64).max((end - day_start) / 300 + 30);
    let last_end = end.div_euclid(300) * 300;
    let gap = day_start + 300 * rng.range(2, 20); // the legacy poller missed this one; live did not
    let mut cloud: f64 = 0.7;
    for k in (0..want).rev() {
        let e = last_end - 300 * k;
        cloud = (cloud + (rng.unit() - 0.5) * 0.2).clamp(0.15, 1.0);
        let wh = (6_000.0 * sun(e - 150) * cloud * 300.0 / 3600.0).round() as i64;
        let w = wh * 12;
        if e != gap {
            let kwh = (wh != 0).then(|| wh as f64 / 1000.0);
            let mut v: Vec<rusqlite::types::Value> =
                vec![3.into(), e.into(), w.into(), w.into(), w.into(), wh.into()];
            v.extend(std::iter::repeat_n(rusqlite::types::Value::Null, 16));
            v[16] = kwh.map_or(rusqlite::types::Value::Null, rusqlite::types::Value::Real);
            v.push(1.into());
            legacy_rows.push((e + rng.range(30, 300), 3, v));
        }
        if e - 300 >= day_start {
            let at = e.max(deploy + 60) * 1000 + rng.range(0, 999);
            for (name, val) in [("solar_w", w as f64), ("solar_interval_wh", wh as f64)] {
                live_agg.push((
                    at,
                    3,
                    point_id[&(3, name.to_string())],
                    [Some(val); 4],
                    1,
                    0,
                    e * 1000,
                    at,
                ));
            }
        }
    }
    legacy_rows.sort_by_key(|r| (r.0, r.1));
    for (at, _, mut v) in legacy_rows {
        v.push(at.into());
        c.execute(
            "INSERT INTO readings_agg_5m (system_id, interval_end, solar_w_avg, solar_w_min, solar_w_max, solar_interval_wh, load_w_avg, load_w_min, load_w_max, battery_w_avg, battery_w_min, battery_w_max, grid_w_avg, grid_w_min, grid_w_max, battery_soc_last, solar_kwh_total_last, load_kwh_total_last, battery_in_kwh_total_last, battery_out_kwh_total_last, grid_in_kwh_total_last, grid_out_kwh_total_last, sample_count, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
            rusqlite::params_from_iter(v),
        )
        .unwrap();
    }
    live_agg.sort_by_key(|r| (r.0, r.1, r.2));
    for (at, system, pid, a, n, errors, e, updated) in live_agg {
        c.execute(
            "INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![system, pid, e, a[0], a[1], a[2], a[3], n, errors, at, updated],
        )
        .unwrap();
    }
    for id in [1, 2, 3, 5, 6] {
        c.execute(
            "INSERT INTO polling_status (system_id, last_poll_time, total_polls, successful_polls, updated_at) VALUES (?1, ?2, 100, 99, ?2)",
            params![id, end - 30],
        )
        .unwrap();
    }
    if seed.is_multiple_of(3) {
        // an export that missed the newest writes of one table: readings end earlier than the
        // live point rows and 5-minute rows written from them
        c.execute("DELETE FROM readings WHERE inverter_time > ?1", [end - 100])
            .unwrap();
    }
    c.execute_batch("COMMIT").unwrap();
    Generated { deploy }
}
