//! Activity kinds (DESIGN.md "Activity kinds") and how often each must be held. A leaf:
//! org settings (the required frequency of each kind) and statistics build on it.

use crate::text_enum;

text_enum! {
    /// How often an activity kind must be held.
    pub enum Frequency {
        Monthly = "monthly",
        Quarterly = "quarterly",
        Yearly = "yearly",
        None = "none",
    }
}

text_enum! {
    /// Activity kinds (DESIGN.md "Activity kinds"). Every kind except `other` is
    /// organizational life.
    pub enum ActivityKind {
        ThemePartyDay = "theme_party_day",
        BranchCommitteeMeeting = "branch_committee_meeting",
        PartyGroupMeeting = "party_group_meeting",
        BranchGeneralMeeting = "branch_general_meeting",
        PartyLesson = "party_lesson",
        OrgLifeMeeting = "org_life_meeting",
        DemocraticAppraisal = "democratic_appraisal",
        MiniPartyClass = "mini_party_class",
        MemberActivityDay = "member_activity_day",
        Other = "other",
    }
}

impl ActivityKind {
    /// The default required frequency (theme party day monthly: Art. 16, …).
    pub fn default_frequency(self) -> Frequency {
        use ActivityKind::*;
        match self {
            ThemePartyDay | BranchCommitteeMeeting | PartyGroupMeeting => Frequency::Monthly,
            BranchGeneralMeeting | PartyLesson => Frequency::Quarterly,
            OrgLifeMeeting | DemocraticAppraisal => Frequency::Yearly,
            MiniPartyClass | MemberActivityDay | Other => Frequency::None,
        }
    }

    pub fn is_org_life(self) -> bool {
        self != ActivityKind::Other
    }
}

/// The Chinese name of an activity kind (as stored), for files and messages.
pub fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "theme_party_day" => "主题党日",
        "branch_committee_meeting" => "支委会",
        "party_group_meeting" => "党小组会",
        "branch_general_meeting" => "党员大会",
        "party_lesson" => "党课",
        "org_life_meeting" => "组织生活会",
        "democratic_appraisal" => "民主评议党员",
        "mini_party_class" => "微党课",
        "member_activity_day" => "党员活动日",
        _ => "其他",
    }
}
