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
