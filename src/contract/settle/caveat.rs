//! The design caveat of the effect metric (docs/methods.md 8.6): when a provider's counted
//! students are not baseline-equivalent to the comparison group, the effect size rests on a
//! regression adjustment for a fallible pre-test and is expressed in an SD of selected
//! groups. Neither is a fault of the data; the analyst is told what the estimate assumes
//! and what would check it.

use super::*;

/// WWC's limit on the baseline difference `|g|` beyond which equivalence is not satisfied
/// (docs/methods.md 8.5), the condition of the caveat.
pub const EQUIVALENCE_LIMIT: f64 = 0.25;

/// One provider the caveat names: its baseline difference and its effect's unit.
struct Named<'a> {
    provider: &'a str,
    g: f64,
    /// The WWC pooled within-grade SD of the provider's effect.
    sd: f64,
}

/// The caveat of an `effect_size` settlement (`None` for another metric, without an effect
/// model, or when every provider is within [`EQUIVALENCE_LIMIT`]): the providers whose
/// baseline `|g|` exceeds the limit, each with its pooled SD against the within-grade SD of
/// the post-test over every student in the model, and what the analyst can do.
pub(super) fn effect_caveat(
    kind: MetricKind,
    students: &[Student],
    equivalence: &[Equivalence],
    effect: Option<&EffectModel>,
) -> Option<Warning> {
    let model = match kind {
        MetricKind::EffectSize => effect?,
        // in points, without the unit of the selected groups; its coefficient showed no
        // bias from the selection (docs/methods.md 8.6)
        MetricKind::MeanGrowthVsComparison
        | MetricKind::ShareMeeting
        | MetricKind::MeanCgi
        | MetricKind::MedianSgp
        | MetricKind::ShareMeetingVsComparison => {
            return None;
        }
    };
    let named: Vec<Named> = equivalence
        .iter()
        .filter(|e| e.g.abs() > EQUIVALENCE_LIMIT)
        .filter_map(|e| Some(Named { provider: &e.provider, g: e.g, sd: model.scale(&e.provider)?.0 }))
        .collect();
    if named.is_empty() {
        return None;
    }
    let all = all_students_sd(students, model);
    let list: Vec<String> = named
        .iter()
        .map(|n| format!("{} (g = {:.2}, SD {:.2}: {:+.0}%)", n.provider, n.g, n.sd, 100.0 * (all / n.sd - 1.0)))
        .collect();
    Some(Warning::new(
        WarningCode::EffectSizeDesign,
        format!(
            "effect_size compares providers with a comparison group that differs in the pre-test by more than \
             {EQUIVALENCE_LIMIT} SD: {}. The estimate then rests on the regression adjustment for a pre-test measured \
             with error and on selection being on the pre-test alone, and its unit, the WWC pooled SD of the selected \
             groups, is smaller than the within-grade post-test SD of all {} students in the model ({all:.2}), so an \
             effect reads the percentage shown larger than in that SD (docs/methods.md 8.6). To check it: `obc vam \
             --sem-col` (errors-in-variables correction of the pre-test), a matched comparison group, or the metric \
             share_meeting_vs_comparison",
            list.join(", "),
            model.residual.iter().flatten().count(),
        ),
    ))
}

/// Pooled within-grade SD (n − 1 per grade) of the post-test over every student in the
/// effect model (counted tutored and analysed comparison students together).
fn all_students_sd(students: &[Student], model: &EffectModel) -> f64 {
    let mut by_grade: BTreeMap<i32, (f64, f64, f64)> = BTreeMap::new();
    for (s, r) in students.iter().zip(&model.residual) {
        if let (Some(_), Some(y)) = (r, s.post) {
            let e = by_grade.entry(s.grade).or_default();
            e.0 += 1.0;
            e.1 += y;
            e.2 += y * y;
        }
    }
    let (ss, df) =
        by_grade.values().fold((0.0, 0.0), |(ss, df), &(n, s, q)| (ss + (q - s * s / n).max(0.0), df + n - 1.0));
    (ss / df).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn student(grade: i32, provider: Option<&str>, pre: f64, post: f64) -> Student {
        Student {
            student_id: format!("{grade}-{pre}-{post}"),
            school: "S1".into(),
            provider: provider.map(str::to_string),
            served: provider.is_some(),
            ..Student::example(grade, Some(pre), Some(post))
        }
    }

    /// Tutored students selected from the low pre-tests, comparison students from the high
    /// ones: each group's post-test SD is smaller than the whole grade's.
    fn selected() -> Vec<Student> {
        let mut v = Vec::new();
        for i in 0..40 {
            let pre = 180.0 + f64::from(i);
            let post = pre + 5.0 + if i % 2 == 0 { 1.0 } else { -1.0 };
            v.push(student(3, (i < 20).then_some("P1"), pre, post));
        }
        v
    }

    fn equivalence(g: f64) -> Vec<Equivalence> {
        vec![Equivalence { provider: "P1".into(), g, n_t: 20, n_c: 20, rating: String::new() }]
    }

    #[test]
    fn fires_for_effect_size_beyond_the_limit_and_names_the_unit() {
        let s = selected();
        let model = effect_model(&s, &vec![true; s.len()]).unwrap();
        let w = effect_caveat(MetricKind::EffectSize, &s, &equivalence(-1.6), Some(&model)).unwrap();
        assert_eq!(w.code, WarningCode::EffectSizeDesign);
        let (sd, _) = model.scale("P1").unwrap();
        let all = all_students_sd(&s, &model);
        // within each half the pre-tests span 20 points, over the grade 40: the SD doubles
        assert!(all > 1.9 * sd && all < 2.1 * sd, "{all} vs {sd}");
        assert!(w.message.contains("P1 (g = -1.60"), "{}", w.message);
        assert!(w.message.contains(&format!("{:+.0}%", 100.0 * (all / sd - 1.0))), "{}", w.message);
        assert!(w.message.contains("--sem-col") && w.message.contains("share_meeting_vs_comparison"));
    }

    #[test]
    fn silent_within_the_limit_for_other_metrics_and_without_a_model() {
        let s = selected();
        let model = effect_model(&s, &vec![true; s.len()]).unwrap();
        assert!(effect_caveat(MetricKind::EffectSize, &s, &equivalence(0.25), Some(&model)).is_none());
        assert!(effect_caveat(MetricKind::EffectSize, &s, &equivalence(-0.2), Some(&model)).is_none());
        assert!(effect_caveat(MetricKind::ShareMeetingVsComparison, &s, &equivalence(-1.6), Some(&model)).is_none());
        assert!(effect_caveat(MetricKind::EffectSize, &s, &equivalence(-1.6), None).is_none());
    }
}
