//! A threshold written as a fraction of a base, decided in integer arithmetic.
//!
//! 「过半数」 is strict (`yes·den > num·base`), 「三分之二以上」 includes the boundary
//! (`yes·den ≥ num·base`): Chinese drafting counts 以上 as including 本数. No floating point
//! is ever used to decide an outcome.

use serde::Serialize;

/// `num/den` of a base, strict or inclusive. Valid by construction: `1 ≤ num ≤ den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fraction {
    num: u32,
    den: u32,
    inclusive: bool,
}

impl Fraction {
    /// The largest denominator accepted; real rules use 2 or 3.
    pub const MAX_DEN: u32 = 1_000_000;

    /// A fraction, or why it is not one (the caller names the field).
    pub fn new(num: u32, den: u32, inclusive: bool) -> Result<Self, (&'static str, String)> {
        if den == 0 {
            return Err(("den", "must be at least 1 (a zero denominator)".into()));
        }
        if den > Self::MAX_DEN {
            return Err(("den", format!("must be at most {}", Self::MAX_DEN)));
        }
        if num == 0 {
            return Err(("num", "must be at least 1".into()));
        }
        if num > den {
            return Err((
                "num",
                format!("{num}/{den} is above 1: no count could reach it"),
            ));
        }
        Ok(Fraction {
            num,
            den,
            inclusive,
        })
    }

    /// Two thirds, boundary included: the default quorum (「三分之二以上的代表出席」).
    pub const TWO_THIRDS_INCLUSIVE: Fraction = Fraction {
        num: 2,
        den: 3,
        inclusive: true,
    };

    /// No threshold but one vote: a run-off under `runoff_majority: false` fills its seats by
    /// most 赞成 (「以得票多的确定」). Never made from a document (`num ≥ 1` there).
    pub const ANY_VOTE: Fraction = Fraction {
        num: 0,
        den: 1,
        inclusive: true,
    };

    /// More than half: the default majority (「全体代表的过半数」).
    pub const MORE_THAN_HALF: Fraction = Fraction {
        num: 1,
        den: 2,
        inclusive: false,
    };

    pub fn num(&self) -> u32 {
        self.num
    }
    pub fn den(&self) -> u32 {
        self.den
    }
    pub fn inclusive(&self) -> bool {
        self.inclusive
    }

    /// Does `value` reach this fraction of `base`? Never with `value` 0: a majority of no
    /// ballots (an empty `cast` base) is no majority.
    pub fn reached(&self, value: u64, base: u64) -> bool {
        if value == 0 {
            return false;
        }
        let lhs = u128::from(value) * u128::from(self.den);
        let rhs = u128::from(self.num) * u128::from(base);
        if self.inclusive {
            lhs >= rhs
        } else {
            lhs > rhs
        }
    }

    /// The smallest value that reaches this fraction of `base`
    /// (327 seated, more than half → 164; ⅔ inclusive of 327 → 218).
    pub fn minimum(&self, base: u64) -> u64 {
        let product = u128::from(self.num) * u128::from(base);
        let den = u128::from(self.den);
        let min = if self.inclusive {
            product.div_ceil(den)
        } else {
            product / den + 1
        };
        // num ≤ den, so min ≤ base + 1 and always fits.
        u64::try_from(min).unwrap_or(u64::MAX).max(1)
    }

    /// The fraction as read in the hall: 「过半数」, 「三分之二以上」, 「五分之三以上」…
    pub fn describe(&self) -> String {
        if self.num == 0 {
            return "得票多者".into();
        }
        if self.num * 2 == self.den && !self.inclusive {
            return "过半数".into();
        }
        if self.num == self.den {
            return if self.inclusive {
                "全部".into()
            } else {
                "超过全部".into()
            };
        }
        let words = format!(
            "{}分之{}",
            chinese_number(self.den),
            chinese_number(self.num)
        );
        if self.inclusive {
            format!("{words}以上")
        } else {
            format!("超过{words}")
        }
    }
}

/// Small numbers in Chinese numerals (fractions in rules never need more); larger in digits.
fn chinese_number(n: u32) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => DIGITS[n as usize].into(),
        10 => "十".into(),
        11..=19 => format!("十{}", DIGITS[(n - 10) as usize]),
        20..=99 if n.is_multiple_of(10) => format!("{}十", DIGITS[(n / 10) as usize]),
        20..=99 => format!(
            "{}十{}",
            DIGITS[(n / 10) as usize],
            DIGITS[(n % 10) as usize]
        ),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn research_vectors() {
        // §8.1 quorum: ⌈2/3·327⌉ = 218; 314 present meets it.
        let q = Fraction::TWO_THIRDS_INCLUSIVE;
        assert_eq!(q.minimum(327), 218);
        assert!(q.reached(218, 327));
        assert!(!q.reached(217, 327));
        assert!(q.reached(314, 327));
        // §8.2 pass on 全体代表: 327 → 164, 300 → 151.
        let m = Fraction::MORE_THAN_HALF;
        assert_eq!(m.minimum(327), 164);
        assert!(m.reached(164, 327) && !m.reached(163, 327));
        assert_eq!(m.minimum(300), 151);
        assert!(m.reached(151, 300) && !m.reached(150, 300));
        // §8.3 constitution-style ⅔ of 2,980 → 1,987.
        assert_eq!(q.minimum(2980), 1987);
        assert!(q.reached(1987, 2980) && !q.reached(1986, 2980));
        // Exactly two thirds counts when inclusive: 2/3 of 300 is 200.
        assert!(q.reached(200, 300) && !q.reached(199, 300));
    }

    #[test]
    fn minimum_agrees_with_reached() {
        for (num, den) in [(1, 2), (2, 3), (3, 5), (1, 3), (1, 1)] {
            for inclusive in [false, true] {
                let f = Fraction::new(num, den, inclusive).expect("valid");
                for base in 0..200u64 {
                    let min = f.minimum(base);
                    assert!(f.reached(min, base), "{num}/{den} {inclusive} {base}");
                    if min > 0 {
                        assert!(!f.reached(min - 1, base), "{num}/{den} {inclusive} {base}");
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_bad_fractions() {
        assert_eq!(Fraction::new(1, 0, true).unwrap_err().0, "den");
        assert_eq!(Fraction::new(4, 3, true).unwrap_err().0, "num");
        assert_eq!(Fraction::new(0, 3, true).unwrap_err().0, "num");
    }

    #[test]
    fn describes_itself_in_chinese() {
        assert_eq!(Fraction::MORE_THAN_HALF.describe(), "过半数");
        assert_eq!(Fraction::TWO_THIRDS_INCLUSIVE.describe(), "三分之二以上");
        assert_eq!(
            Fraction::new(3, 5, true).expect("valid").describe(),
            "五分之三以上"
        );
    }
}
