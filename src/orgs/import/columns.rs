//! The columns an import understands and the headers that name them, in Chinese or
//! English, with the aliases secretaries actually use (手机号码, 联系电话, 入党时间,
//! 所在党组织 …). Headers are compared after [`normalize_header`].

/// A column the import understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Gender,
    Phone,
    BirthDate,
    JoinedPartyOn,
    Category,
    Org,
    Cadre,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Name,
        Field::Gender,
        Field::Phone,
        Field::BirthDate,
        Field::JoinedPartyOn,
        Field::Category,
        Field::Org,
        Field::Cadre,
    ];

    /// The API name of the column.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Gender => "gender",
            Field::Phone => "phone",
            Field::BirthDate => "birth_date",
            Field::JoinedPartyOn => "joined_party_on",
            Field::Category => "category",
            Field::Org => "org",
            Field::Cadre => "cadre",
        }
    }

    /// The header a Chinese member list uses.
    pub fn chinese(self) -> &'static str {
        match self {
            Field::Name => "姓名",
            Field::Gender => "性别",
            Field::Phone => "手机号",
            Field::BirthDate => "出生日期",
            Field::JoinedPartyOn => "入党日期",
            Field::Category => "类别",
            Field::Org => "所在支部",
            Field::Cadre => "是否干部",
        }
    }

    /// Every header accepted for this column, normalized (see [`normalize_header`]).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Name => &["姓名", "名字", "党员姓名", "name", "full_name"],
            Field::Gender => &["性别", "gender", "sex"],
            Field::Phone => &[
                "手机号",
                "手机号码",
                "手机",
                "联系电话",
                "电话",
                "电话号码",
                "联系方式",
                "phone",
                "mobile",
                "phone_number",
                "mobile_phone",
                "cellphone",
            ],
            Field::BirthDate => &[
                "出生日期",
                "出生年月日",
                "生日",
                "birth_date",
                "birthdate",
                "birthday",
                "date_of_birth",
                "dob",
            ],
            Field::JoinedPartyOn => &[
                "入党日期",
                "入党时间",
                "入党年月日",
                "joined_party_on",
                "joined_on",
                "join_date",
                "party_join_date",
                "joined_party",
            ],
            Field::Category => &[
                "类别",
                "党员类别",
                "人员类别",
                "党员类型",
                "category",
                "member_category",
                "type",
            ],
            Field::Org => &[
                "所在支部",
                "所在党组织",
                "所在党支部",
                "支部",
                "党支部",
                "党组织",
                "所在党小组",
                "党小组",
                "org",
                "org_name",
                "organization",
                "branch",
            ],
            Field::Cadre => &["是否干部", "干部", "是否村干部", "cadre", "is_cadre"],
        }
    }

    /// The field a header names, if any.
    pub fn from_header(header: &str) -> Option<Field> {
        let h = normalize_header(header);
        Field::ALL
            .into_iter()
            .find(|f| f.aliases().contains(&h.as_str()))
    }
}

/// Header text in comparable form: no BOM, whitespace or required-field stars, no
/// parenthesized hint ("出生日期（yyyy-mm-dd）"), ASCII lower-case, spaces and dashes as `_`.
pub fn normalize_header(header: &str) -> String {
    let mut h: String = header
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '*' || c == '＊')
        .to_string();
    for (open, close) in [('(', ')'), ('（', '）')] {
        if let Some(i) = h.find(open)
            && h.ends_with(close)
            && i > 0
        {
            h.truncate(i);
        }
    }
    h.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_headers_in_either_language() {
        for (h, f) in [
            ("姓名", Field::Name),
            (" *姓名 ", Field::Name),
            ("\u{feff}姓名", Field::Name),
            ("手机号码", Field::Phone),
            ("联系电话", Field::Phone),
            ("Mobile", Field::Phone),
            ("Phone Number", Field::Phone),
            ("sex", Field::Gender),
            ("出生日期（yyyy-mm-dd）", Field::BirthDate),
            ("Birth Date", Field::BirthDate),
            ("入党时间", Field::JoinedPartyOn),
            ("joined-party-on", Field::JoinedPartyOn),
            ("党员类别", Field::Category),
            ("所在党组织", Field::Org),
            ("Branch", Field::Org),
            ("干部", Field::Cadre),
            ("is_cadre", Field::Cadre),
        ] {
            assert_eq!(Field::from_header(h), Some(f), "{h}");
        }
        assert_eq!(Field::from_header("序号"), None);
        assert_eq!(Field::from_header("身份证号"), None);
    }
}
