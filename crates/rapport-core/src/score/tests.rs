use super::*;

#[test]
fn decimal_text_drops_trailing_zeros() {
    let check = |units: i128, scale: u32, expect: &str| {
        assert_eq!(Decimal::new(units, scale).to_string(), expect)
    };
    check(3000, 2, "30");
    check(3375, 2, "33.75");
    check(3350, 2, "33.5");
    check(5, 2, "0.05");
    check(0, 2, "0");
    check(-125, 2, "-1.25");
    check(250_000_000_000_000_000, 18, "0.25");
    check(1, 0, "1");
    check(12, 4, "0.0012");
    // Past 64 bits the digits come from the 128-bit path.
    check(i128::MAX, 0, "170141183460469231731687303715884105727");
    check(i128::MIN, 2, "-1701411834604692317316873037158841057.28");
}

#[test]
fn ratio_rounds_half_up_exactly() {
    let check = |numerator: i128, denominator: i128, scale: u32, expect: &str| {
        assert_eq!(
            Decimal::ratio_half_up(numerator, denominator, scale).unwrap().to_string(),
            expect
        );
    };
    // 1.005 as a float is 1.00499999999999989…, which rounds to 1 with floats.
    check(1005, 1000, 2, "1.01");
    check(2675, 1000, 2, "2.68");
    check(1, 3, 2, "0.33");
    check(2, 3, 2, "0.67");
    check(135, 4, 2, "33.75");
    check(1, 8, 2, "0.13");
    check(1, 2, 0, "1");
    check(0, 7, 4, "0");
    check(-1, 2, 0, "0");
    assert_eq!(Decimal::ratio_half_up(1, 0, 2), None);
    assert_eq!(Decimal::ratio_half_up(i128::MAX, 1, 2), None);
    // Either side of the 64-bit fast path gives what 128-bit arithmetic gives.
    let reference = |numerator: i128, denominator: i128, scale: u32| {
        let (numerator, denominator) =
            if denominator < 0 { (-numerator, -denominator) } else { (numerator, denominator) };
        (numerator * 10i128.pow(scale) * 2 + denominator).div_euclid(denominator * 2)
    };
    let edges = [i128::from(i64::MAX) / 4, i128::from(i64::MAX), 1i128 << 70];
    for numerator in [-7, 0, 1, 5, 999_999, -(1i128 << 40)].into_iter().chain(edges) {
        for denominator in [1, 3, -3, 7, 10_000, i128::from(i64::MAX), -(1i128 << 66)] {
            for scale in [0, 2, 4] {
                assert_eq!(
                    Decimal::ratio_half_up(numerator, denominator, scale)
                        .map(|ratio| ratio.units()),
                    Some(reference(numerator, denominator, scale)),
                    "{numerator} / {denominator} at {scale}"
                );
            }
        }
    }
}

#[test]
fn decimal_parts() {
    assert_eq!((Decimal::new(3375, 2).units(), Decimal::new(3375, 2).scale()), (3375, 2));
}

#[test]
fn weights_parse_decimal_text_exactly() {
    let mut weights = Weights::default();
    let check = |weights: &mut Weights, text: &str, expect: &str| {
        weights.set("breadth", text).unwrap();
        assert_eq!(weights.get(2).to_string(), expect, "from {text:?}");
    };
    check(&mut weights, "0.3", "0.3");
    check(&mut weights, "1", "1");
    check(&mut weights, " .5 ", "0.5");
    check(&mut weights, "2.", "2");
    check(&mut weights, "+0.125", "0.125");
    check(&mut weights, "000123.450000000000000000000", "123.45");
    check(&mut weights, "0.000000000000000001", "0.000000000000000001");
    check(&mut weights, "-0.1", "-0.1");
}

#[test]
fn weights_refuse_bad_text_and_name_the_feature() {
    let mut weights = Weights::default();
    for text in
        ["", ".", "3e-1", "0,5", "1.2.3", "abc", "0x10", "1234567", "0.0000000000000000001", "- 1"]
    {
        let error = weights.set("recency", text).unwrap_err();
        assert!(error.contains("recency"), "{error}");
    }
    assert_eq!(weights, Weights::default());
    let error = weights.set("loudness", "1").unwrap_err();
    assert_eq!(
        error,
        "unknown weight \"loudness\": expected one of email_volume, meeting_volume, breadth, recency, initiative"
    );
}

#[test]
fn weights_validate() {
    assert_eq!(Weights::default().validate(), Ok(()));
    assert_eq!(Weights::FEATURES.map(|name| name.len()).len(), 5,);
    let mut weights = Weights::default();
    weights.set("initiative", "-0.1").unwrap();
    assert_eq!(weights.validate(), Err("weight initiative is negative (-0.1)".to_string()));
    let mut zero = Weights::default();
    for name in Weights::FEATURES {
        zero.set(name, "0").unwrap();
    }
    assert_eq!(
        zero.validate(),
        Err("weights are all zero: at least one feature needs a positive weight".to_string())
    );
    zero.set("recency", "0.5").unwrap();
    assert_eq!(zero.validate(), Ok(()));
}

fn scores(values: &[[i64; 5]], weights: &Weights) -> Vec<u8> {
    score_group(values, weights).iter().map(|scored| scored.score).collect()
}

#[test]
fn a_single_row_beats_everything() {
    let scored = score_group(&[[0, 0, 0, -400, 0]], &Weights::default());
    assert_eq!(scored, vec![Scored { score: 100, beaten: [0; 5], compared: 0 }]);
    assert_eq!(scored[0].share_beaten(3).to_string(), "1");
}

#[test]
fn default_weights_over_three_rows() {
    let values = [[10, 0, 3, -2, 1], [5, 2, 3, -10, 5], [1, 1, 9, -2, 0]];
    let scored = score_group(&values, &Weights::default());
    // Row 0 beats 2 on email, 0 on meetings, 0 on breadth, 1 on recency, 1 on initiative:
    // 100 × (0.25·2 + 0 + 0 + 0.2·1 + 0.1·1) / 2 = 40.
    assert_eq!(scored[0].beaten, [2, 0, 0, 1, 1]);
    assert_eq!(scored[0].compared, 2);
    // Row 1: (0.25·1 + 0.25·2 + 0.1·2) / 2 = 47.5 → 48; row 2: (0.25 + 0.2·2 + 0.2) / 2 = 42.5 → 43.
    assert_eq!(scored.iter().map(|s| s.score).collect::<Vec<_>>(), vec![40, 48, 43]);
    assert_eq!(scored[1].beaten, [1, 2, 0, 0, 2]);
    assert_eq!(scored[2].beaten, [0, 1, 2, 1, 0]);
    assert_eq!(scored[0].share_beaten(0).to_string(), "1");
    assert_eq!(scored[0].share_beaten(3).to_string(), "0.5");
}

#[test]
fn ties_beat_nobody_they_equal() {
    let values = [[3, 0, 0, 0, 0], [3, 0, 0, 0, 0], [1, 0, 0, 0, 0]];
    let scored = score_group(&values, &Weights::default());
    assert_eq!(scored.iter().map(|s| s.beaten[0]).collect::<Vec<_>>(), vec![1, 1, 0]);
    // 100 × 0.25 · 1 / 2 = 12.5 → 13 (half up).
    assert_eq!(scores(&values, &Weights::default()), vec![13, 13, 0]);
}

#[test]
fn exact_halves_round_up_where_floats_would_not() {
    // Weights 0.1 / 0.2 / 0.7 on 2 rows: the winner of feature 0 alone scores
    // 100 × 0.1 / 1.0 = 10 exactly; with three features of 0.1, 0.2, 0.3 and N − 1 = 1 a
    // score of 100 × 0.3 / 0.6 = 50 exactly. Floats give 0.1 + 0.2 = 0.30000000000000004.
    let mut weights = Weights::default();
    for (name, text) in Weights::FEATURES.iter().zip(["0.1", "0.2", "0.3", "0", "0"]) {
        weights.set(name, text).unwrap();
    }
    let values = [[1, 1, 0, 0, 0], [0, 0, 1, 0, 0]];
    assert_eq!(scores(&values, &weights), vec![50, 50]);

    // A true half: 100 × 0.005 / 0.08 = 6.25 ... choose weights whose share is x.5 exactly:
    // w = (0.145, 0.855): 100 × 0.145 = 14.5 → 15. In binary 0.145 is 0.14499999999999999,
    // so 100 × 0.145 / 1.0 in floats is 14.499999999999998 and would round to 14.
    let mut weights = Weights::default();
    for (name, text) in Weights::FEATURES.iter().zip(["0.145", "0.855", "0", "0", "0"]) {
        weights.set(name, text).unwrap();
    }
    assert!((100.0_f64 * 0.145 / (0.145 + 0.855)).round() < 14.5);
    let values = [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]];
    assert_eq!(scores(&values, &weights), vec![15, 86]);
}

#[test]
fn a_zero_weight_switches_a_feature_off() {
    let mut weights = Weights::default();
    for (name, text) in Weights::FEATURES.iter().zip(["0", "0", "0", "1", "0"]) {
        weights.set(name, text).unwrap();
    }
    let values = [[100, 100, 100, -5, 100], [0, 0, 0, -1, 0], [0, 0, 0, -3, 0]];
    assert_eq!(scores(&values, &weights), vec![0, 100, 50]);
}

#[test]
fn invalid_weights_give_zero_instead_of_dividing_by_zero() {
    let mut weights = Weights::default();
    for name in Weights::FEATURES {
        weights.set(name, "0").unwrap();
    }
    assert_eq!(scores(&[[1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], &weights), vec![0, 0]);
    assert_eq!(scores(&[], &weights), Vec::<u8>::new());
}
