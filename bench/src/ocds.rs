//! Synthetic OCDS compiled releases for the red-flag workload (issue 13): one release a line,
//! from a fixed seed, shaped so that each of Cardinal's eleven indicators has something to find
//! and its Tukey-fence guard stays open, with the cases the indicators exclude at small rates.
//!
//! Every date is `YYYY-MM-DDTHH:MM:SSZ` with a real time of day (Cardinal compares R030's dates as
//! strings), every id is a string, every amount a JSON number above zero with two decimals, and
//! every value is in `USD` except about one losing bid in a hundred, in `EUR`. What is planted, and
//! at what rate, is listed on [`Plant`] and in `examples/ocds/README.md`.

use std::io::Write;

use crate::Rng;

/// The prefix of every generated `ocid` (a made-up OCDS publisher prefix).
pub const OCID_PREFIX: &str = "ocds-x7q2ab";

/// 2022-01-03T00:00:00Z, a Monday: the first tender opens on or after it.
const EPOCH_START: i64 = 1_641_168_000;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

// ---------------------------------------------------------------------------------------------
// Random helpers on top of the project's SplitMix64.

impl Rng {
    /// A uniform number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        // The top 53 bits make an exact double in [0, 1).
        #[allow(clippy::cast_precision_loss, reason = "53 bits convert exactly")]
        let x = (self.next_u64() >> 11) as f64;
        x / 9_007_199_254_740_992.0
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniform number in [lo, hi).
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// An integer in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// An approximately standard normal number (Irwin–Hall: twelve uniforms, minus six), so that
    /// no platform's `ln` or `cos` can change the data.
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }

    /// A log-normal number with the given median and log-scale spread.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal JSON value, written in the order it was built.

/// A JSON value, built in field order and written on one line.
enum Json {
    Str(String),
    /// A number written as given (amounts with two decimals).
    Num(String),
    Int(u64),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    fn str(s: impl Into<String>) -> Self {
        Json::Str(s.into())
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c if u32::from(c) < 0x20 => {
                            out.push_str(&format!("\\u{:04x}", u32::from(c)));
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Json::Num(n) => out.push_str(n),
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(key);
                    out.push_str("\":");
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// `{"amount": …, "currency": …}` for an amount in cents.
fn money(cents: u64, currency: &str) -> Json {
    Json::Obj(vec![
        (
            "amount",
            Json::Num(format!("{}.{:02}", cents / 100, cents % 100)),
        ),
        ("currency", Json::str(currency)),
    ])
}

fn org(id: &str, name: &str) -> Json {
    Json::Obj(vec![("id", Json::str(id)), ("name", Json::str(name))])
}

// ---------------------------------------------------------------------------------------------
// Time: seconds since 1970-01-01T00:00:00Z, written as RFC 3339 in UTC.

/// The proleptic Gregorian date of a day count since 1970-01-01 (Hinnant's civil calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(DAY));
    let s = seconds.rem_euclid(DAY);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        s / HOUR,
        (s % HOUR) / 60,
        s % 60
    )
}

/// 0 for Monday … 6 for Sunday (1970-01-01 was a Thursday).
fn weekday(seconds: i64) -> i64 {
    (seconds.div_euclid(DAY) + 3).rem_euclid(7)
}

fn secs(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------------------------
// Populations.

const AGENCY_KINDS: &[&str] = &[
    "Secretaría de Salud",
    "Secretaría de Educación",
    "Secretaría de Infraestructura y Transporte",
    "Instituto de Previsión Social",
    "Empresa Nacional de Energía",
    "Servicio Autónomo de Acueductos",
    "Hospital Escuela",
    "Municipalidad de",
    "Universidad Nacional de",
    "Policía Nacional, Región",
];
const PLACES: &[&str] = &[
    "Tegucigalpa",
    "San Pedro Sula",
    "La Ceiba",
    "Choluteca",
    "Comayagua",
    "Juticalpa",
    "Danlí",
    "Santa Rosa de Copán",
    "Puerto Cortés",
    "Siguatepeque",
    "El Progreso",
    "Gracias",
];
const FIRM_CORES: &[&str] = &[
    "Atlántida",
    "del Norte",
    "Centroamericana",
    "Los Pinos",
    "Santa Fe",
    "Morazán",
    "Lempira",
    "del Valle",
    "Copán",
    "Olancho",
    "Maya",
    "del Pacífico",
    "Cerro Azul",
    "San Miguel",
    "La Esperanza",
    "Río Ulúa",
];
const FIRM_TRADES: &[&str] = &[
    "Constructora",
    "Suministros Médicos",
    "Distribuidora",
    "Servicios Técnicos",
    "Inversiones",
    "Tecnología",
    "Ingeniería",
    "Comercial",
    "Laboratorios",
    "Consultores",
    "Papelería",
    "Transportes",
];
const FIRM_FORMS: &[&str] = &["S.A.", "S. de R.L.", "S.A. de C.V.", "y Asociados"];

/// UNSPSC segments (the first two digits of a code) and their names.
const SEGMENTS: &[(u64, &str)] = &[
    (10, "Live plant and animal material"),
    (12, "Chemicals including bio chemicals"),
    (14, "Paper materials and products"),
    (15, "Fuels and lubricants"),
    (22, "Building and construction machinery"),
    (23, "Industrial manufacturing machinery"),
    (24, "Material handling and storage equipment"),
    (25, "Commercial and military vehicles"),
    (26, "Power generation and distribution machinery"),
    (27, "Tools and general machinery"),
    (30, "Structures and building components"),
    (31, "Manufacturing components and supplies"),
    (32, "Electronic components and supplies"),
    (39, "Electrical systems and lighting"),
    (40, "Distribution and conditioning systems"),
    (41, "Laboratory and measuring equipment"),
    (42, "Medical equipment and accessories"),
    (43, "Information technology and telecommunications"),
    (44, "Office equipment and supplies"),
    (45, "Printing and photographic equipment"),
    (46, "Defense and security equipment"),
    (47, "Cleaning equipment and supplies"),
    (49, "Sports and recreational equipment"),
    (50, "Food beverage and tobacco products"),
    (51, "Drugs and pharmaceutical products"),
    (52, "Domestic appliances and supplies"),
    (53, "Apparel and personal care products"),
    (55, "Published products"),
    (56, "Furniture and furnishings"),
    (60, "Educational and institutional equipment"),
    (70, "Farming and fishing services"),
    (72, "Building and construction services"),
    (73, "Industrial production services"),
    (76, "Industrial cleaning services"),
    (77, "Environmental services"),
    (78, "Transportation and storage services"),
    (80, "Management and business services"),
    (81, "Engineering and research services"),
    (82, "Editorial and design services"),
    (83, "Public utilities"),
    (84, "Financial and insurance services"),
    (85, "Healthcare services"),
    (86, "Education and training services"),
    (90, "Travel and food services"),
    (92, "National defense and public order services"),
    (93, "Politics and civic affairs services"),
];

/// A buying organisation (a buyer, or a procuring entity).
struct Agency {
    id: String,
    name: String,
    /// How many times the base rate it disqualifies bids (R038: a few are well above their peers).
    disqualification: f64,
}

/// A company that bids.
struct Firm {
    id: String,
    name: String,
    /// Relative bidding activity (Zipf-like, so that some firms bid and win very often).
    weight: f64,
    /// Its UNSPSC segments (indexes into [`SEGMENTS`]): the home ones, then two side lines.
    segments: Vec<usize>,
    /// How many of `segments` are home segments.
    home: usize,
    /// A cover bidder: enters many tenders, almost never wins (R025).
    cover: bool,
    /// Sloppy: many of its bids are disqualified (R038, tenderers).
    sloppy: bool,
    /// Supplies goods of many unrelated kinds (R048).
    heterogeneous: bool,
    /// Tenders entered with a valid bid, and won, and the wins it would have at its usual rate:
    /// winners are chosen to keep each firm near its expected share, so that win ratios cluster
    /// as in real markets and R025's lower fence stays above zero.
    entered: u64,
    won: u64,
    expected: f64,
}

/// The organisations of one generated data set, sized by the number of releases.
struct World {
    buyers: Vec<Agency>,
    entities: Vec<Agency>,
    firms: Vec<Firm>,
    /// Cumulative firm weights, for weighted draws.
    cumulative: Vec<f64>,
}

fn clamp_count(value: u64, lo: u64, hi: u64) -> usize {
    usize::try_from(value.clamp(lo, hi)).unwrap_or(usize::MAX)
}

impl World {
    fn new(rng: &mut Rng, releases: u64) -> Self {
        let buyer_count = clamp_count(releases / 20, 12, 60);
        let entity_count = buyer_count * 3 / 2;
        let firm_count = clamp_count(releases / 8, 40, 1500);
        let agency = |rng: &mut Rng, prefix: &str, i: usize, sloppy: bool| {
            let kind = rng.pick(AGENCY_KINDS);
            let place = rng.pick(PLACES);
            let name = if kind.ends_with(" de") || kind.ends_with("Región") {
                format!("{kind} {place}")
            } else {
                format!("{kind}, {place}")
            };
            Agency {
                id: format!("{prefix}-{:03}", i + 1),
                name,
                disqualification: if sloppy { rng.between(6.0, 8.0) } else { 1.0 },
            }
        };
        // Buyers run most of their own tenders, so the procuring entities 0..buyers are the buyers'
        // own; a sloppy entity makes its buyer look sloppy too (R038 for both groups).
        let entities: Vec<Agency> = (0..entity_count)
            .map(|i| agency(rng, "GOV-PE", i, i % 9 == 4))
            .collect();
        let buyers: Vec<Agency> = (0..buyer_count)
            .map(|i| {
                let mut buyer = agency(rng, "GOV-BUY", i, false);
                if let Some(entity) = entities.get(i) {
                    buyer.name.clone_from(&entity.name);
                    buyer.disqualification = entity.disqualification;
                }
                buyer
            })
            .collect();
        #[allow(clippy::cast_precision_loss, reason = "populations are small")]
        let (offset, boost) = (firm_count as f64 / 10.0, 1.0 + 80.0 / firm_count as f64);
        let firms: Vec<Firm> = (0..firm_count)
            .map(|rank| {
                let cover = rank % 60 == 5;
                let sloppy = rank % 60 == 11;
                let trade = rng.pick(FIRM_TRADES);
                let core = rng.pick(FIRM_CORES);
                let form = rng.pick(FIRM_FORMS);
                // One to three home segments, then two side lines it sells now and then.
                let home = 1 + rng.below(3);
                let segments = (0..home + 2)
                    .map(|_| usize::try_from(rng.below(SEGMENTS.len() as u64)).unwrap_or(0))
                    .collect();
                // A few major suppliers lead every market; in a small data set they are boosted
                // so that several reach R048's twenty awarded processes.
                #[allow(clippy::cast_precision_loss, reason = "ranks are small")]
                let base = 1.0 / (rank as f64 + offset) * if rank < 6 { boost } else { 1.0 };
                Firm {
                    id: format!("ORG-{:05}", rank + 1),
                    name: format!("{trade} {core} {form}"),
                    weight: if cover || sloppy { 2.0 * base } else { base },
                    segments,
                    home: usize::try_from(home).unwrap_or(1),
                    cover,
                    sloppy,
                    heterogeneous: rank % 50 == 2,
                    entered: 0,
                    won: 0,
                    expected: 0.0,
                }
            })
            .collect();
        let mut total = 0.0;
        let cumulative = firms
            .iter()
            .map(|f| {
                total += f.weight;
                total
            })
            .collect();
        World {
            buyers,
            entities,
            firms,
            cumulative,
        }
    }

    /// `n` distinct firms, drawn by weight; a cover bidder never bids alone.
    fn draw_firms(&self, rng: &mut Rng, n: usize) -> Vec<usize> {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let mut chosen: Vec<usize> = Vec::with_capacity(n);
        let mut attempts = 0;
        while chosen.len() < n.min(self.firms.len()) && attempts < 1000 {
            attempts += 1;
            let x = rng.unit() * total;
            let i = self
                .cumulative
                .partition_point(|c| *c <= x)
                .min(self.firms.len() - 1);
            let alone_cover = n == 1 && self.firms.get(i).is_some_and(|f| f.cover);
            if !chosen.contains(&i) && !alone_cover {
                chosen.push(i);
            }
        }
        chosen
    }

    fn firm(&self, i: usize) -> Option<&Firm> {
        self.firms.get(i)
    }
}

// ---------------------------------------------------------------------------------------------
// One contracting process.

/// The feature planted in a process (at most one each), with its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plant {
    /// Nothing unusual.
    None,
    /// R003: an open or selective tender open for 5–14 days (~4 %).
    ShortPeriod,
    /// R003 boundary: exactly 15 days (not flagged, ~1 %).
    FifteenDays,
    /// R003 boundary: 14 days 23:59:59 (flagged, ~0.5 %).
    AlmostFifteenDays,
    /// R018: an open or selective tender with one bidder (~5 %; ~8 % of open and selective).
    SingleBidder,
    /// R024: the runner-up within 0–0.5 % of the winning bid (~1.5 %).
    CloseRunnerUp,
    /// R058: the runner-up 60–150 % above the winning bid (~1 %).
    FarRunnerUp,
    /// R028: a losing tenderer copies another bid's amount to the cent (~1 %).
    IdenticalPrice,
    /// R030: the winning bid came in after the deadline (~1 %).
    LateWinner,
    /// R030's exclusion: a losing bid came in after the deadline (~0.5 %).
    LateLoser,
    /// R035: every other tenderer (at least two) disqualified (~1.5 %).
    OthersDisqualified,
    /// R036: the lowest bid disqualified, the next valid one awarded (~2 %).
    LowestDisqualified,
    /// Award criteria not price only: a cheaper valid bid lost (~5 %; R024/R058 exclude it).
    NotLowestWins,
}

/// The shape of a process's awards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awarding {
    /// One active award to one supplier.
    Single,
    /// Still under evaluation: one pending award (~3 %).
    Pending,
    /// A first award cancelled, then an active one (~3 %).
    CancelledThenActive,
    /// Lots: two active awards to two suppliers (~5 %).
    Lots,
    /// A consortium wins: one award, two suppliers (~1 %).
    Consortium,
    /// The tender was cancelled (~2 %).
    TenderCancelled,
    /// Every bid disqualified, the tender unsuccessful (~1 %).
    Unsuccessful,
}

const PLANTS: &[(Plant, f64)] = &[
    (Plant::ShortPeriod, 0.04),
    (Plant::FifteenDays, 0.01),
    (Plant::AlmostFifteenDays, 0.005),
    (Plant::SingleBidder, 0.05),
    (Plant::CloseRunnerUp, 0.015),
    (Plant::FarRunnerUp, 0.01),
    (Plant::IdenticalPrice, 0.01),
    (Plant::LateWinner, 0.01),
    (Plant::LateLoser, 0.005),
    (Plant::OthersDisqualified, 0.015),
    (Plant::LowestDisqualified, 0.02),
    (Plant::NotLowestWins, 0.05),
];

const AWARDINGS: &[(Awarding, f64)] = &[
    (Awarding::Pending, 0.03),
    (Awarding::CancelledThenActive, 0.03),
    (Awarding::Lots, 0.05),
    (Awarding::Consortium, 0.01),
    (Awarding::TenderCancelled, 0.02),
    (Awarding::Unsuccessful, 0.01),
];

fn choose<T: Copy>(rng: &mut Rng, table: &[(T, f64)], otherwise: T) -> T {
    let mut x = rng.unit();
    for (value, p) in table {
        if x < *p {
            return *value;
        }
        x -= p;
    }
    otherwise
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Valid,
    Disqualified,
    Pending,
    Invited,
    Withdrawn,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Disqualified => "disqualified",
            Status::Pending => "pending",
            Status::Invited => "invited",
            Status::Withdrawn => "withdrawn",
        }
    }

    fn submitted(self) -> bool {
        !matches!(self, Status::Invited | Status::Withdrawn)
    }
}

struct Bid {
    /// Firm indexes: one, or two for a consortium.
    tenderers: Vec<usize>,
    status: Status,
    cents: Option<u64>,
    currency: &'static str,
    date: i64,
}

/// Cents of `base × factor`, at least one dollar.
fn scaled(base: u64, factor: f64) -> u64 {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "amounts are far below 2^52 cents and positive"
    )]
    let cents = (base as f64 * factor).round() as u64;
    cents.max(100)
}

/// Writes `count` OCDS compiled releases as JSON Lines, from `seed`.
pub fn write_releases(out: &mut impl Write, count: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng(seed ^ 0x0CD5_0CD5);
    let mut world = World::new(&mut rng, count);
    let mut line = String::with_capacity(4096);
    // Tenders open over three years, in order, a few a day at 100,000 releases.
    let span = 3 * 365 * DAY;
    for i in 0..count {
        #[allow(clippy::cast_precision_loss, reason = "counts are small")]
        let progress = i as f64 / count.max(1) as f64;
        #[allow(clippy::cast_possible_truncation, reason = "within three years")]
        let day = EPOCH_START + (progress * span as f64) as i64 / DAY * DAY;
        line.clear();
        release(&mut rng, &mut world, i, day).write(&mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// The tender's methods, weighted: open 55 %, selective 15 %, limited 15 %, direct 15 %.
fn method(rng: &mut Rng) -> (&'static str, &'static str) {
    let x = rng.unit();
    if x < 0.02 {
        // Random selection among qualified firms: no price comparison.
        ("limited", "Sorteo de Obras")
    } else if x < 0.55 {
        if rng.chance(0.2) {
            ("open", "Subasta Inversa")
        } else {
            ("open", "Licitación Pública")
        }
    } else if x < 0.70 {
        ("selective", "Licitación Privada")
    } else if x < 0.85 {
        ("limited", "Cotización")
    } else {
        ("direct", "Compra Menor")
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "one process, built top to bottom as a reader would check it"
)]
fn release(rng: &mut Rng, world: &mut World, index: u64, day: i64) -> Json {
    let ocid = format!("{OCID_PREFIX}-{:06}", index + 1);
    let (method, details) = method(rng);
    let competitive = matches!(method, "open" | "selective");
    let mut plant = choose(rng, PLANTS, Plant::None);
    let mut awarding = choose(rng, AWARDINGS, Awarding::Single);
    // The first process stays plain, so that every reader's first currency is USD.
    if index == 0 {
        plant = Plant::None;
        awarding = Awarding::Single;
    }
    let period_plant = matches!(
        plant,
        Plant::ShortPeriod | Plant::FifteenDays | Plant::AlmostFifteenDays | Plant::SingleBidder
    );
    if period_plant && !competitive {
        plant = Plant::None;
    }

    // Who buys.
    let buyer_index = usize::try_from(rng.below(world.buyers.len() as u64)).unwrap_or(0);
    let entity_index = if rng.chance(0.3) {
        usize::try_from(rng.below(world.entities.len() as u64)).unwrap_or(0)
    } else {
        buyer_index
    };
    let (buyer_id, buyer_name) = world
        .buyers
        .get(buyer_index)
        .map(|b| (b.id.clone(), b.name.clone()))
        .unwrap_or_default();
    let (entity_id, entity_name, sloppiness) = world
        .entities
        .get(entity_index)
        .map(|e| (e.id.clone(), e.name.clone(), e.disqualification))
        .unwrap_or_default();

    // When: a weekday, office hours; the deadline at a round hour.
    let mut start = day + secs(rng.below(5)) * DAY;
    while weekday(start) >= 5 {
        start += DAY;
    }
    start += 8 * HOUR + secs(rng.below(9 * 3600));
    let period_days = match (plant, method) {
        (Plant::ShortPeriod, _) => rng.range(5, 14),
        (Plant::FifteenDays | Plant::AlmostFifteenDays, _) => 15,
        (_, "open") => rng.range(20, 45),
        (_, "selective") => rng.range(15, 30),
        (_, "limited") => rng.range(15, 25),
        _ => rng.range(3, 10),
    };
    let end = match plant {
        Plant::FifteenDays => start + 15 * DAY,
        Plant::AlmostFifteenDays => start + 15 * DAY - 1,
        _ => {
            let deadline_hour = [10, 12, 15, 17]
                .get(usize::try_from(rng.below(4)).unwrap_or(0))
                .copied()
                .unwrap_or(17);
            let mut end = (start / DAY + secs(period_days)) * DAY + deadline_hour * HOUR;
            // Deadlines fall on working days (a short period stays short).
            while weekday(end) >= 5 {
                end += if plant == Plant::ShortPeriod {
                    -DAY
                } else {
                    DAY
                };
            }
            end
        }
    };
    // Direct purchases often publish no tender period at all.
    let has_period = method != "direct" || rng.chance(0.3);

    // Who bids.
    let bidders = match (plant, method) {
        (Plant::SingleBidder, _) => 1,
        (Plant::OthersDisqualified | Plant::IdenticalPrice, _) => rng.range(3, 6),
        (Plant::LowestDisqualified | Plant::CloseRunnerUp | Plant::FarRunnerUp, _) => {
            rng.range(2, 6)
        }
        (Plant::NotLowestWins, _) => rng.range(2, 5),
        (_, "open") => rng.range(2, 7),
        (_, "selective") => rng.range(2, 4),
        (_, "limited") => rng.range(1, 3),
        _ => 1,
    };
    let bidders = if matches!(awarding, Awarding::Lots | Awarding::Consortium) {
        bidders.max(3)
    } else {
        bidders
    };
    let firms = world.draw_firms(rng, usize::try_from(bidders).unwrap_or(1));
    let mut bids: Vec<Bid> = firms
        .iter()
        .map(|&f| {
            let firm = world.firm(f);
            let sloppy = firm.is_some_and(|x| x.sloppy);
            let p_disqualified = (0.06 * sloppiness * if sloppy { 8.0 } else { 1.0 }).min(0.6);
            let status = if rng.chance(0.02) {
                Status::Invited
            } else if rng.chance(0.02) {
                Status::Withdrawn
            } else if rng.chance(p_disqualified) {
                Status::Disqualified
            } else {
                Status::Valid
            };
            Bid {
                tenderers: vec![f],
                status,
                cents: None,
                currency: "USD",
                date: 0,
            }
        })
        .collect();
    // A tender keeps one valid bid at least, other than a cover bidder's (an unsuccessful tender
    // loses it again below).
    let is_cover = |world: &World, bid: &Bid| {
        bid.tenderers
            .first()
            .and_then(|&f| world.firm(f))
            .is_some_and(|f| f.cover)
    };
    if !bids
        .iter()
        .any(|b| b.status == Status::Valid && !is_cover(world, b))
        && let Some(b) = bids.iter_mut().find(|b| !is_cover(world, b))
    {
        b.status = Status::Valid;
    }

    // The winner: among valid single-tenderer bids, the firm furthest below its expected share
    // of wins (most of the time), cover bidders almost never.
    let valid: Vec<usize> = (0..bids.len())
        .filter(|&b| bids.get(b).is_some_and(|b| b.status == Status::Valid))
        .collect();
    #[allow(clippy::cast_precision_loss, reason = "small counts")]
    let share = 1.0 / valid.len().max(1) as f64;
    for &b in &valid {
        if let Some(f) = bids
            .get(b)
            .and_then(|b| b.tenderers.first())
            .and_then(|&f| world.firms.get_mut(f))
        {
            f.entered += 1;
            f.expected += share;
        }
    }
    let deficit = |world: &World, b: usize| {
        let firm = bids
            .get(b)
            .and_then(|b| b.tenderers.first())
            .and_then(|&f| world.firm(f));
        firm.map_or(f64::MIN, |f| {
            let cover = if f.cover { -1e6 } else { 0.0 };
            #[allow(clippy::cast_precision_loss, reason = "small counts")]
            let won = f.won as f64;
            f.expected - won + cover
        })
    };
    let random_pick = rng.chance(0.25) || details == "Sorteo de Obras";
    let winner_bid = if random_pick {
        let pick = usize::try_from(rng.below(valid.len() as u64)).unwrap_or(0);
        let chosen = valid.get(pick).copied().unwrap_or(0);
        // Even at random, a cover bidder rarely wins.
        let cover = bids
            .get(chosen)
            .and_then(|b| b.tenderers.first())
            .and_then(|&f| world.firm(f))
            .is_some_and(|f| f.cover);
        if cover && !rng.chance(0.05) {
            valid
                .iter()
                .copied()
                .max_by(|&a, &b| deficit(world, a).total_cmp(&deficit(world, b)))
                .unwrap_or(chosen)
        } else {
            chosen
        }
    } else {
        valid
            .iter()
            .copied()
            .max_by(|&a, &b| deficit(world, a).total_cmp(&deficit(world, b)))
            .unwrap_or(0)
    };
    let winner_firm = bids
        .get(winner_bid)
        .and_then(|b| b.tenderers.first())
        .copied()
        .unwrap_or(0);
    if let Some(f) = world.firms.get_mut(winner_firm) {
        f.won += 1;
    }

    // Planted statuses.
    let losers: Vec<usize> = (0..bids.len()).filter(|&b| b != winner_bid).collect();
    match plant {
        Plant::OthersDisqualified => {
            for &b in &losers {
                if let Some(bid) = bids.get_mut(b) {
                    bid.status = Status::Disqualified;
                }
            }
        }
        Plant::LowestDisqualified => {
            if let Some(bid) = losers.first().and_then(|&b| bids.get_mut(b)) {
                bid.status = Status::Disqualified;
            }
        }
        _ => {}
    }
    if awarding == Awarding::Unsuccessful {
        for bid in &mut bids {
            if bid.status.submitted() {
                bid.status = Status::Disqualified;
            }
        }
    }

    // Prices: the winner from the estimate, the runner-up a few percent above, the rest higher.
    let estimate = scaled(
        rng.lognormal(5_000_000.0, 1.0).round().max(50_000.0) as u64,
        1.0,
    ) / 10_000
        * 10_000;
    let winning = scaled(estimate, rng.between(0.82, 1.02));
    let gap = match plant {
        Plant::CloseRunnerUp => rng.between(0.0, 0.005),
        Plant::FarRunnerUp => rng.between(0.6, 1.5),
        _ => rng.lognormal(0.06, 0.3),
    };
    let runner_up = scaled(winning, 1.0 + gap);
    let mut runner_up_placed = false;
    for (b, bid) in bids.iter_mut().enumerate() {
        if bid.status == Status::Invited && rng.chance(0.8) {
            continue;
        }
        let cents = if b == winner_bid {
            winning
        } else if plant == Plant::LowestDisqualified && bid.status == Status::Disqualified {
            scaled(winning, 1.0 - rng.between(0.02, 0.15))
        } else if plant == Plant::NotLowestWins && bid.status == Status::Valid && !runner_up_placed
        {
            runner_up_placed = true;
            scaled(winning, 1.0 - rng.between(0.01, 0.08))
        } else if bid.status == Status::Valid && !runner_up_placed {
            runner_up_placed = true;
            runner_up
        } else {
            scaled(runner_up, 1.0 + rng.between(0.005, 0.25))
        };
        bid.cents = Some(cents);
    }
    if plant == Plant::IdenticalPrice {
        // One submitted losing bid copies another's price, to the cent.
        let priced: Vec<usize> = losers
            .iter()
            .copied()
            .filter(|&b| {
                bids.get(b)
                    .is_some_and(|b| b.status.submitted() && b.cents.is_some())
            })
            .collect();
        if let (Some(&from), Some(&to)) = (priced.first(), priced.last()) {
            let copied = bids.get(from).and_then(|b| b.cents);
            if let Some(bid) = bids.get_mut(to).filter(|_| from != to) {
                bid.cents = copied;
            }
        }
    }
    // About one losing bid in a hundred is in euros (never in the first process).
    if index > 0 && plant != Plant::IdenticalPrice {
        for &b in losers.iter().skip(1) {
            if rng.chance(0.01)
                && let Some(bid) = bids.get_mut(b)
            {
                bid.currency = "EUR";
            }
        }
    }
    // A consortium: one losing bid, or the winning one, from two firms.
    let partner = world
        .draw_firms(rng, 4)
        .into_iter()
        .find(|f| !firms.contains(f));
    if let Some(partner) = partner {
        if awarding == Awarding::Consortium {
            if let Some(bid) = bids.get_mut(winner_bid) {
                bid.tenderers.push(partner);
            }
        } else if rng.chance(0.02)
            && let Some(bid) = losers.last().and_then(|&b| bids.get_mut(b))
        {
            bid.tenderers.push(partner);
        }
    }
    // Pending evaluations: the bids themselves may still be pending.
    if awarding == Awarding::Pending && rng.chance(0.5) {
        for bid in &mut bids {
            if bid.status == Status::Valid {
                bid.status = Status::Pending;
            }
        }
    }

    // When the bids came in: in the last days before the deadline.
    for (b, bid) in bids.iter_mut().enumerate() {
        let window = (end - start).clamp(HOUR, 5 * DAY);
        bid.date = end - 60 - secs(rng.below(u64::try_from(window).unwrap_or(86_400)));
        let late = (plant == Plant::LateWinner && b == winner_bid)
            || (plant == Plant::LateLoser && losers.first() == Some(&b));
        if late {
            bid.date = if rng.chance(0.4) && end.rem_euclid(DAY) <= 17 * HOUR {
                // The same evening: a midnight-blind check would miss it.
                end + 3 * HOUR
            } else {
                end + HOUR + secs(rng.below(3 * 86_400))
            };
        }
    }
    let submitted: Vec<usize> = bids
        .iter()
        .filter(|b| b.status.submitted())
        .flat_map(|b| b.tenderers.iter().copied())
        .collect();
    let mut distinct = submitted.clone();
    distinct.sort_unstable();
    distinct.dedup();

    // Awards.
    let award_date = end + 5 * DAY + secs(rng.below(35 * 86_400));
    let second_valid = losers
        .iter()
        .copied()
        .find(|&b| bids.get(b).is_some_and(|b| b.status == Status::Valid));
    let mut awards: Vec<(String, &'static str, Vec<usize>, u64, i64)> = Vec::new();
    let winner_tenderers = bids
        .get(winner_bid)
        .map(|b| b.tenderers.clone())
        .unwrap_or_default();
    let award_id = |n: usize| format!("{ocid}-award-{n}");
    match awarding {
        Awarding::Single | Awarding::Consortium => {
            awards.push((award_id(1), "active", winner_tenderers, winning, award_date));
        }
        Awarding::Pending => {
            awards.push((
                award_id(1),
                "pending",
                winner_tenderers,
                winning,
                award_date,
            ));
        }
        Awarding::CancelledThenActive => {
            let first = losers
                .first()
                .and_then(|&b| bids.get(b))
                .map(|b| b.tenderers.clone())
                .unwrap_or_else(|| winner_tenderers.clone());
            awards.push((award_id(1), "cancelled", first, winning, award_date));
            awards.push((
                award_id(2),
                "active",
                winner_tenderers,
                winning,
                award_date + 10 * DAY,
            ));
        }
        Awarding::Lots => {
            let half = winning / 2;
            awards.push((award_id(1), "active", winner_tenderers, half, award_date));
            if let Some(other) = second_valid.and_then(|b| bids.get(b)) {
                let lot = other.cents.unwrap_or(winning) / 2;
                awards.push((
                    award_id(2),
                    "active",
                    other.tenderers.clone(),
                    lot,
                    award_date,
                ));
            }
        }
        Awarding::TenderCancelled => {
            awards.push((
                award_id(1),
                "cancelled",
                winner_tenderers,
                winning,
                award_date,
            ));
        }
        Awarding::Unsuccessful => {
            awards.push((award_id(1), "unsuccessful", Vec::new(), winning, award_date));
        }
    }

    let tender_status = match awarding {
        Awarding::Pending => "active",
        Awarding::TenderCancelled => "cancelled",
        Awarding::Unsuccessful => "unsuccessful",
        _ => "complete",
    };
    let currency = "USD";

    // Items: what each award's supplier sells, mostly from its home segments.
    let items_of = |rng: &mut Rng, world: &World, supplier: Option<usize>| -> Vec<Json> {
        let firm = supplier.and_then(|f| world.firm(f));
        let n = 1 + rng.below(3);
        (0..n)
            .map(|k| {
                let segment = match firm {
                    Some(f) if f.heterogeneous => {
                        usize::try_from(rng.below(SEGMENTS.len() as u64)).unwrap_or(0)
                    }
                    Some(f) => {
                        let side = rng.chance(0.05);
                        let (from, to) = if side {
                            (f.home, f.segments.len())
                        } else {
                            (0, f.home)
                        };
                        let s = from + usize::try_from(rng.below((to - from) as u64)).unwrap_or(0);
                        f.segments.get(s).copied().unwrap_or(0)
                    }
                    None => usize::try_from(rng.below(SEGMENTS.len() as u64)).unwrap_or(0),
                };
                let (code, name) = SEGMENTS.get(segment).copied().unwrap_or((43, ""));
                let id = format!(
                    "{code}{:02}{:02}{:02}",
                    10 + rng.below(10),
                    15 + rng.below(10),
                    1 + rng.below(20)
                );
                Json::Obj(vec![
                    ("id", Json::str((k + 1).to_string())),
                    ("quantity", Json::Int(1 + rng.below(50))),
                    (
                        "classification",
                        Json::Obj(vec![
                            ("scheme", Json::str("UNSPSC")),
                            ("id", Json::Str(id)),
                            ("description", Json::str(name)),
                        ]),
                    ),
                ])
            })
            .collect()
    };
    let main_supplier = winner_tenderers_first(&bids, winner_bid);
    let tender_items = items_of(rng, world, main_supplier);
    let category = match world
        .firm(main_supplier.unwrap_or(0))
        .and_then(|f| f.segments.first())
        .and_then(|&s| SEGMENTS.get(s))
        .map_or(43, |s| s.0)
    {
        30 | 72 => "works",
        c if c >= 70 => "services",
        _ => "goods",
    };

    let firm_org = |f: usize| {
        world
            .firm(f)
            .map_or_else(|| org("", ""), |firm| org(&firm.id, &firm.name))
    };
    let mut award_json = Vec::new();
    let mut contracts = Vec::new();
    for (id, status, suppliers, cents, date) in &awards {
        let supplier = suppliers.first().copied();
        let items = items_of(rng, world, supplier);
        let mut fields = vec![
            ("id", Json::str(id.clone())),
            ("status", Json::str(*status)),
            ("date", Json::Str(rfc3339(*date))),
            ("value", money(*cents, currency)),
        ];
        if !suppliers.is_empty() {
            fields.push((
                "suppliers",
                Json::Arr(suppliers.iter().map(|&f| firm_org(f)).collect()),
            ));
            fields.push(("items", Json::Arr(items)));
        }
        award_json.push(Json::Obj(fields));
        if *status == "active" {
            let signed = date + 3 * DAY + secs(rng.below(17 * 86_400));
            let contract_status = if rng.chance(0.05) {
                "terminated"
            } else {
                "active"
            };
            contracts.push(Json::Obj(vec![
                ("id", Json::str(format!("{id}-contract"))),
                ("awardID", Json::str(id.clone())),
                ("status", Json::str(contract_status)),
                ("value", money(*cents, currency)),
                ("dateSigned", Json::Str(rfc3339(signed))),
            ]));
        }
    }

    let bid_json: Vec<Json> = bids
        .iter()
        .enumerate()
        .map(|(b, bid)| {
            let mut fields = vec![
                ("id", Json::str(format!("{ocid}-bid-{}", b + 1))),
                ("date", Json::Str(rfc3339(bid.date))),
                ("status", Json::str(bid.status.as_str())),
                (
                    "tenderers",
                    Json::Arr(bid.tenderers.iter().map(|&f| firm_org(f)).collect()),
                ),
            ];
            if let Some(cents) = bid.cents {
                fields.push(("value", money(cents, bid.currency)));
            }
            Json::Obj(fields)
        })
        .collect();

    // Parties: each organisation once, with its roles.
    let mut parties: Vec<(String, String, Vec<&'static str>)> = Vec::new();
    let mut add_party = |id: &str, name: &str, role: &'static str| {
        if let Some(p) = parties.iter_mut().find(|p| p.0 == id) {
            if !p.2.contains(&role) {
                p.2.push(role);
            }
        } else {
            parties.push((id.to_string(), name.to_string(), vec![role]));
        }
    };
    add_party(&buyer_id, &buyer_name, "buyer");
    add_party(&entity_id, &entity_name, "procuringEntity");
    for bid in &bids {
        for &f in &bid.tenderers {
            if let Some(firm) = world.firm(f) {
                add_party(&firm.id, &firm.name, "tenderer");
            }
        }
    }
    for (_, status, suppliers, _, _) in &awards {
        if *status == "active" {
            for &f in suppliers {
                if let Some(firm) = world.firm(f) {
                    add_party(&firm.id, &firm.name, "supplier");
                }
            }
        }
    }
    let parties_json = parties
        .into_iter()
        .map(|(id, name, roles)| {
            Json::Obj(vec![
                ("id", Json::Str(id)),
                ("name", Json::Str(name)),
                (
                    "roles",
                    Json::Arr(roles.into_iter().map(Json::str).collect()),
                ),
            ])
        })
        .collect();

    let mut tender = vec![
        ("id", Json::str(format!("{ocid}-tender"))),
        ("status", Json::str(tender_status)),
        ("procurementMethod", Json::str(method)),
        ("procurementMethodDetails", Json::str(details)),
        ("mainProcurementCategory", Json::str(category)),
        ("value", money(estimate, currency)),
    ];
    if has_period {
        tender.push((
            "tenderPeriod",
            Json::Obj(vec![
                ("startDate", Json::Str(rfc3339(start))),
                ("endDate", Json::Str(rfc3339(end))),
            ]),
        ));
    }
    tender.push(("numberOfTenderers", Json::Int(distinct.len() as u64)));
    tender.push(("procuringEntity", org(&entity_id, &entity_name)));
    tender.push(("items", Json::Arr(tender_items)));

    let last_date = awards.iter().map(|a| a.4).max().unwrap_or(end) + DAY;
    let mut release = vec![
        ("ocid", Json::str(ocid.clone())),
        ("id", Json::str(format!("{ocid}-compiled"))),
        ("date", Json::Str(rfc3339(last_date))),
        ("tag", Json::Arr(vec![Json::str("compiled")])),
        ("initiationType", Json::str("tender")),
        ("buyer", org(&buyer_id, &buyer_name)),
        ("parties", Json::Arr(parties_json)),
        ("tender", Json::Obj(tender)),
        ("bids", Json::Obj(vec![("details", Json::Arr(bid_json))])),
        ("awards", Json::Arr(award_json)),
    ];
    if !contracts.is_empty() {
        release.push(("contracts", Json::Arr(contracts)));
    }
    Json::Obj(release)
}

fn winner_tenderers_first(bids: &[Bid], winner_bid: usize) -> Option<usize> {
    bids.get(winner_bid)
        .and_then(|b| b.tenderers.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(count: u64, seed: u64) -> String {
        let mut out = Vec::new();
        write_releases(&mut out, count, seed).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dates_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(EPOCH_START), "2022-01-03T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 86_399), "2000-02-29T23:59:59Z");
        assert_eq!(weekday(EPOCH_START), 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_releases() {
        assert_eq!(generate(50, 7), generate(50, 7));
        assert_ne!(generate(50, 7), generate(50, 8));
    }

    #[test]
    fn statuses_and_exclusion_paths_all_occur_and_dates_have_times() {
        let text = generate(2000, 5);
        for needle in [
            "\"status\":\"valid\"",
            "\"status\":\"disqualified\"",
            "\"status\":\"pending\"",
            "\"status\":\"invited\"",
            "\"status\":\"withdrawn\"",
            "\"status\":\"cancelled\"",
            "\"status\":\"unsuccessful\"",
            "\"currency\":\"EUR\"",
            "Sorteo de Obras",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        for key in ["\"date\":\"", "\"startDate\":\"", "\"endDate\":\""] {
            for value in text.split(key).skip(1) {
                let date = value.get(..20).unwrap();
                assert!(
                    date.ends_with('Z') && date.get(10..11) == Some("T"),
                    "{date}"
                );
            }
        }
    }

    #[test]
    fn every_line_is_one_release_with_a_unique_ocid() {
        let text = generate(300, 13);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 300);
        for (i, line) in lines.iter().enumerate() {
            let expected = format!("{{\"ocid\":\"{OCID_PREFIX}-{:06}\"", i + 1);
            assert!(line.starts_with(&expected), "{line}");
            assert!(line.ends_with('}'));
        }
    }
}
