//! The date a run treats as today, and where it came from: `--today`, `today` in `caveat.toml`,
//! or the clock. Commands whose results depend on it (waivers expire) say which they used.

use jiff::civil::Date;

/// Where the date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--today`.
    Flag,
    /// `today` in `caveat.toml`.
    Config,
    /// The system clock, in UTC.
    Clock,
}

/// The date a run treats as today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Today {
    /// The date.
    pub date: Date,
    /// Where it came from.
    pub origin: Origin,
}

impl Today {
    /// The flag's date, else the config's, else the clock's.
    pub fn resolve(flag: Option<Date>, config: Option<Date>) -> Today {
        match (flag, config) {
            (Some(date), _) => Today {
                date,
                origin: Origin::Flag,
            },
            (None, Some(date)) => Today {
                date,
                origin: Origin::Config,
            },
            (None, None) => Today {
                date: super::check::current_date(),
                origin: Origin::Clock,
            },
        }
    }

    /// `as of 2026-12-05 (--today)`: the line the commands print.
    pub fn describe(&self) -> String {
        let origin = match self.origin {
            Origin::Flag => "--today",
            Origin::Config => "`today` in caveat.toml",
            Origin::Clock => "the clock, UTC",
        };
        format!("as of {} ({origin})", self.date)
    }
}

/// The `today` of the nearest `caveat.toml` here or above (or of `config`, when named), if any.
pub fn configured(config: Option<&std::path::Path>) -> Option<Date> {
    let path = match config {
        Some(path) => Some(path.to_path_buf()),
        None => std::env::current_dir()
            .ok()
            .and_then(|here| crate::config::find(&here)),
    }?;
    crate::config::load(&path).ok()?.today
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_over_the_config_over_the_clock() {
        let flag = jiff::civil::date(2026, 1, 2);
        let config = jiff::civil::date(2025, 3, 4);
        assert_eq!(Today::resolve(Some(flag), Some(config)).date, flag);
        let from_config = Today::resolve(None, Some(config));
        assert_eq!(from_config.origin, Origin::Config);
        assert_eq!(
            from_config.describe(),
            "as of 2025-03-04 (`today` in caveat.toml)"
        );
        assert_eq!(Today::resolve(None, None).origin, Origin::Clock);
    }
}
