//! How names are ordered for people: Chinese names by their pinyin (汉语拼音), as a
//! secretary's paper roster is, not by code point (which orders 王 before 李 and 张 at
//! random). Each character compares by its pinyin syllable without tone (`pinyin` crate,
//! the most common reading), then by the character itself, so different characters with
//! the same syllable stay apart and the order is total. Other characters compare by their
//! lowercase form (digits before letters before Chinese). Stands on nothing of ours.

use std::cmp::Ordering;

use pinyin::ToPinyin;

/// The comparison key of a name: one `(syllable, character)` per character.
pub fn name_key(name: &str) -> Vec<(String, char)> {
    name.chars()
        .map(|c| match c.to_pinyin() {
            // `~` sorts after every ASCII letter: Chinese after Latin names.
            Some(p) => (format!("~{}", p.plain()), c),
            None => (c.to_lowercase().collect(), c),
        })
        .collect()
}

/// [`name_key`] as a string whose byte order is the key's order, for SQL `ORDER BY` and
/// keyset pagination: each `(syllable, character)` as the syllable's UTF-8 bytes in hex, a
/// `00` terminator (no byte of a syllable is zero, so a shorter syllable sorts first), and
/// the character's code point in six hex digits. The parts are prefix-free, so comparing
/// the concatenation compares the sequences. Lowercase hex digits only: every database
/// collation orders them as bytes.
pub fn sort_key(name: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (syllable, c) in name_key(name) {
        for b in syllable.bytes() {
            let _ = write!(out, "{b:02x}");
        }
        let _ = write!(out, "00{:06x}", u32::from(c));
    }
    out
}

/// Orders two names by [`name_key`].
pub fn cmp_names(a: &str, b: &str) -> Ordering {
    name_key(a).cmp(&name_key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_names_sort_by_pinyin() {
        let mut names = vec![
            "张伟",
            "王芳",
            "李娜",
            "安然",
            "赵磊",
            "陈静",
            "王伟",
            "Zhang Wei",
            "8号",
        ];
        names.sort_by(|a, b| cmp_names(a, b));
        assert_eq!(
            names,
            vec![
                "8号",
                "Zhang Wei",
                "安然",
                "陈静",
                "李娜",
                "王芳",
                "王伟",
                "张伟",
                "赵磊"
            ]
        );
    }

    #[test]
    fn the_sort_key_orders_as_the_comparison_does() {
        let names = [
            "张伟",
            "王芳",
            "李娜",
            "安然",
            "赵磊",
            "陈静",
            "王伟",
            "王",
            "王芳芳",
            "李",
            "利",
            "Li",
            "li",
            "lia",
            "8号",
            "",
            "𠀀",
            "王 芳",
            "Zhang Wei",
            "吕",
            "律",
        ];
        for a in names {
            for b in names {
                assert_eq!(sort_key(a).cmp(&sort_key(b)), cmp_names(a, b), "{a} vs {b}");
            }
        }
        assert!(
            sort_key("王芳")
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn places_sort_by_pinyin_and_same_syllables_stay_apart() {
        let mut orgs = vec![
            "杏花村党支部",
            "石桥村党支部",
            "河湾村党支部",
            "王家庄村党支部",
            "柳林镇机关党支部",
        ];
        orgs.sort_by(|a, b| cmp_names(a, b));
        assert_eq!(
            orgs,
            vec![
                "河湾村党支部",
                "柳林镇机关党支部",
                "石桥村党支部",
                "王家庄村党支部",
                "杏花村党支部"
            ]
        );
        // 石 (shi) and 十 (shi): same syllable, still a total order.
        assert_ne!(cmp_names("石桥", "十桥"), Ordering::Equal);
        assert_eq!(cmp_names("石桥", "石桥"), Ordering::Equal);
    }
}
