use super::*;
use crate::engine::{Engine, Options};
use crate::model::{Account, Contact, EmailCopy, MailRecord};

/// A small real run: two accounts, emails both ways with a reply, a few weeks apart.
fn enrichment() -> crate::engine::Enrichment {
    let users = vec![
        OrgUser { email: "alice@org.example".into(), directory_id: Some("id-1".into()) },
        OrgUser { email: "bob@org.example".into(), directory_id: None },
    ];
    let accounts = vec![
        Account { account_id: "A1".into(), domains: vec!["client.example".into()] },
        Account { account_id: "Zé,\"2\"".into(), domains: vec!["other.example".into()] },
    ];
    let contacts = vec![Contact { email: "jane@client.example".into(), account_id: "A1".into() }];
    let options = Options {
        as_of: 1_767_225_600,
        match_domains: true,
        extra_public_domains: Vec::new(),
        weights: Weights::default(),
        zone: None,
    };
    let mut engine = Engine::new(users, accounts, contacts, options).expect("engine");
    let day = 86_400;
    let email = |id: &str, sent: i64, from: &str, to: &str, parent: Option<&str>| {
        MailRecord::Email(EmailCopy {
            message_id: Some(id.into()),
            sent: Some(1_764_547_200 + sent * day),
            sender: Some(from.into()),
            recipients: vec![to.into()],
            parent_id: parent.map(Into::into),
            ..EmailCopy::default()
        })
    };
    engine.push_mail(email("m1", 0, "alice@org.example", "jane@client.example", None));
    engine.push_mail(email("m2", 1, "jane@client.example", "alice@org.example", Some("m1")));
    engine.push_mail(email("m3", 9, "bob@org.example", "joe@other.example", None));
    engine.push_mail(email("m4", 20, "joe@other.example", "bob@org.example", None));
    engine.finish()
}

#[test]
fn a_run_reads_back_exactly_from_its_image() {
    let run = enrichment();
    assert!(run.rows.len() >= 6, "rows: {}", run.rows.len());
    assert!(run.rows.iter().any(|row| row.average_reply_hours.is_some()));
    let image = encode(&run.rows, &run.scores, &run.weights, &run.users);
    let tables = decode(&image).expect("decodes");
    assert_eq!(tables.rows, run.rows);
    assert_eq!(tables.scores, run.scores);
    assert_eq!(tables.weights, run.weights);
    assert_eq!(tables.users, run.users);
    assert_eq!(tables.explanations(), run.explanations());
    assert!(image.len() < run.rows.len() * 60 + 200, "{} bytes", image.len());
}

#[test]
fn other_weights_and_values_at_their_edges_read_back_exactly() {
    let run = enrichment();
    let mut scores = run.scores.clone();
    let odd = scores.first_mut().expect("a score");
    odd.values = [i64::MIN, -1, 0, 1, i64::MAX];
    odd.beaten = [u64::MAX, 0, 1, 2, 3];
    odd.compared = u64::MAX;
    let weights = Weights::from_units([i128::MIN, -1, 0, 1, i128::MAX]);
    // Fewer scores than rows, and none at all, read back as they were.
    for scores in [scores.clone(), Vec::new()] {
        let tables = decode(&encode(&run.rows, &scores, &weights, &run.users)).expect("decodes");
        assert_eq!(tables.scores, scores);
        assert_eq!(tables.weights, weights);
        assert_eq!(tables.rows, run.rows);
    }
}

#[test]
fn damaged_cut_and_foreign_images_are_errors_not_panics() {
    let run = enrichment();
    let image = encode(&run.rows, &run.scores, &run.weights, &run.users);
    assert_eq!(decode(b"RPMAIL\x00\x02rest"), Err(ImageError::Foreign));
    assert_eq!(decode(b"RPTABLE\x01rest of an older image"), Err(ImageError::Foreign));
    assert_eq!(decode(&[]), Err(ImageError::Foreign));
    assert_eq!(decode(&MAGIC), Err(ImageError::Malformed(8)));
    // Any byte flipped is caught.
    for position in MAGIC.len()..image.len() {
        let mut flipped = image.clone();
        if let Some(byte) = flipped.get_mut(position) {
            *byte ^= 0x40;
        }
        assert!(decode(&flipped).is_err(), "byte {position} flipped");
    }
    for cut in [9, image.len() / 2, image.len() - 1] {
        assert!(
            matches!(
                decode(image.get(..cut).unwrap_or_default()),
                Err(ImageError::Damaged | ImageError::Malformed(_))
            ),
            "cut at {cut}"
        );
    }
    // A structurally bad body with a matching checksum: a count larger than the bytes left.
    let mut forged = MAGIC.to_vec();
    put_varint(&mut forged, 1 << 40);
    let sum = checksum(forged.get(MAGIC.len()..).unwrap_or_default());
    forged.extend_from_slice(&sum.to_le_bytes());
    assert_eq!(decode(&forged), Err(ImageError::Malformed(8)));
}

#[test]
fn many_rows_take_the_threaded_path_and_read_back_exactly() {
    let run = enrichment();
    let mut rows = Vec::new();
    let mut scores = Vec::new();
    for copy in 0..(PARALLEL_FROM / run.rows.len() + 2) {
        for (row, score) in run.rows.iter().zip(&run.scores) {
            rows.push(Row {
                account_id: format!("ACC-{copy:05}-{}", row.account_id),
                ..row.clone()
            });
            scores.push(*score);
        }
    }
    assert!(scores.len() >= PARALLEL_FROM);
    let tables = decode(&encode(&rows, &scores, &run.weights, &run.users)).expect("decodes");
    assert_eq!(tables.rows, rows);
    assert_eq!(tables.scores, scores);
}
