//! The demo data set as values: the org tree and the people, with names, mobile numbers
//! and dates drawn from a fixed-seed generator (no external data), so the same day gives
//! the same plan on every machine. Writing it is [`super::seed`]'s job.

use std::collections::HashSet;

use chrono::{Datelike, Days, NaiveDate};

use super::DemoLogin;
use crate::orgs::model::{Category, Gender, MemberStatus, OrgKind, Role, Sector};

/// An org of the plan; `parent` is an index into [`Plan::orgs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOrg {
    pub name: String,
    pub kind: OrgKind,
    pub sector: Sector,
    pub parent: Option<usize>,
    /// How keenly the org's members study and come to meetings, in percent (the demo's
    /// history draws from it: 100 keeps an even pace with the quota, less falls behind).
    /// Party groups and committees carry their branch's or a neutral value.
    pub pace: u8,
}

/// A membership of the plan; `org` is an index into [`Plan::orgs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMembership {
    pub org: usize,
    pub category: Category,
    pub is_cadre: bool,
    pub joined_party_on: Option<NaiveDate>,
    pub status: MemberStatus,
    pub from_date: NaiveDate,
}

/// A person of the plan: a member, a role holder, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPerson {
    pub name: String,
    pub phone: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub membership: Option<PlannedMembership>,
    /// Roles, each on an org index.
    pub roles: Vec<(Role, usize)>,
    /// Printed among the logins even without a role (a plain member to try the phone app).
    pub show_login: bool,
}

/// The whole data set, before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub orgs: Vec<PlannedOrg>,
    pub people: Vec<PlannedPerson>,
}

impl Plan {
    /// The logins to print, in the order people are planned: a row per role held, and one
    /// for the plain member marked to show.
    pub fn logins(&self) -> Vec<DemoLogin> {
        let org_name = |i: usize| self.orgs.get(i).map(|o| o.name.clone()).unwrap_or_default();
        let mut logins = Vec::new();
        for p in &self.people {
            let shown = p.membership.as_ref().filter(|_| p.show_login);
            let member = shown.map(|m| ("member", m.org));
            let roles = p.roles.iter().map(|(r, i)| (r.as_str(), *i));
            for (role, org) in member.into_iter().chain(roles) {
                logins.push(DemoLogin {
                    role: role.to_string(),
                    org: org_name(org),
                    name: p.name.clone(),
                    phone: p.phone.clone(),
                });
            }
        }
        logins
    }
}

/// A small deterministic generator (SplitMix64), so the demo is the same everywhere. The
/// demo's history draws from it too.
pub struct Rng(pub u64);

impl Rng {
    pub fn draw(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.draw() % (hi.saturating_sub(lo) + 1)
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.draw() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items
            .get(self.draw() as usize % items.len().max(1))
            .copied()
            .unwrap_or_default()
    }
}

const COUNTY: &str = "清河县委";

/// A village: its name, the surname of its largest clan, party groups, members and pace.
struct Village(&'static str, &'static str, usize, usize, u8);

/// A township: its name, two villages, another branch (name, sector, members, pace) and
/// the members and pace of its organ branch (机关党支部).
struct Township(
    &'static str,
    [Village; 2],
    (&'static str, Sector, usize, u8),
    (usize, u8),
);

/// The pace of the county and township committees themselves (they hold no members).
const NEUTRAL_PACE: u8 = 100;

const TOWNSHIPS: [Township; 2] = [
    Township(
        "柳林镇",
        [
            // 杏花村 is the model village; 王家庄村 lags behind.
            Village("杏花村", "李", 3, 27, 112),
            Village("王家庄村", "王", 2, 24, 72),
        ],
        ("杏花果蔬专业合作社党支部", Sector::Cooperative, 7, 88),
        (4, 108),
    ),
    Township(
        "石桥乡",
        [
            Village("石桥村", "张", 3, 26, 98),
            // 河湾村 lost its summer to floods: far behind, and meetings missed.
            Village("河湾村", "刘", 2, 23, 58),
        ],
        ("绿源米业有限公司党支部", Sector::Enterprise, 5, 104),
        (4, 100),
    ),
];

const GROUPS: [&str; 3] = ["第一党小组", "第二党小组", "第三党小组"];

/// Common surnames, most frequent first (drawn with a bias towards the front).
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "程", "曹", "袁",
    "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛", "叶",
    "余", "潘", "杜", "戴", "夏", "钟", "汪", "田", "任", "姜", "范", "方", "石", "姚", "谭", "廖",
    "邹", "熊", "金", "陆", "郝", "孔", "白", "崔", "康", "毛", "秦",
];

const MALE_GIVEN: &[&str] = &[
    "建国", "建军", "国庆", "志刚", "永强", "海峰", "德明", "长青", "福生", "春生", "文斌", "立新",
    "保国", "振华", "卫东", "红兵", "金山", "俊杰", "明辉", "学军", "玉林", "成林", "广平", "占山",
    "树林", "家豪", "浩然", "宇航", "子涵", "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "刚",
    "平", "辉", "鹏", "亮", "超", "波", "华", "林", "东", "峰",
];

const FEMALE_GIVEN: &[&str] = &[
    "秀英", "桂兰", "玉梅", "秀兰", "凤英", "春梅", "丽娟", "海燕", "晓燕", "秀芳", "桂芳", "玉兰",
    "红霞", "雪梅", "丽华", "美玲", "淑珍", "金凤", "彩霞", "艳红", "婷婷", "欣怡", "佳慧", "思雨",
    "芳", "娟", "敏", "静", "丽", "艳", "霞", "燕", "萍", "红", "玲", "梅",
];

/// Mainland mobile prefixes of the three carriers.
const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183", "185",
    "186", "187", "188", "189", "191", "198", "199",
];

/// Who a planned person is, which decides age, category and cadre flag.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The county admin: not a member.
    Admin,
    /// A branch committee member or township secretary: a full member and cadre.
    Cadre,
    /// A member: mostly full, some probationary, a few activists.
    Member,
}

struct Builder {
    rng: Rng,
    today: NaiveDate,
    plan: Plan,
    phones: HashSet<String>,
    names: HashSet<String>,
    /// Plain members planned so far.
    members: usize,
}

/// The demo data set, with dates relative to `today`. The same `today` gives the same plan.
pub fn plan(today: NaiveDate) -> Plan {
    let mut b = Builder {
        rng: Rng(0x6461_6e67_6b65),
        today,
        plan: Plan {
            orgs: Vec::new(),
            people: Vec::new(),
        },
        phones: HashSet::new(),
        names: HashSet::new(),
        members: 0,
    };
    let county = b.org(
        COUNTY,
        OrgKind::CountyCommittee,
        Sector::Village,
        None,
        NEUTRAL_PACE,
    );
    b.person(Kind::Admin, None, None, vec![(Role::Admin, county)]);
    for Township(name, villages, (other, other_sector, other_size, other_pace), organ) in &TOWNSHIPS
    {
        let (organ_size, organ_pace) = *organ;
        let township = b.org(
            &format!("{name}党委"),
            OrgKind::TownshipCommittee,
            Sector::Village,
            Some(county),
            NEUTRAL_PACE,
        );
        let organ = b.org(
            &format!("{name}机关党支部"),
            OrgKind::Branch,
            Sector::Other,
            Some(township),
            organ_pace,
        );
        b.person(
            Kind::Cadre,
            None,
            Some(organ),
            vec![(Role::Secretary, township)],
        );
        for _ in 1..organ_size {
            b.person(Kind::Member, None, Some(organ), vec![]);
        }
        for Village(village, clan, groups, size, pace) in villages {
            b.village(township, village, clan, (*groups, *size), *pace);
        }
        let branch = b.org(
            &format!("{name}{other}"),
            OrgKind::Branch,
            *other_sector,
            Some(township),
            *other_pace,
        );
        b.person(
            Kind::Cadre,
            None,
            Some(branch),
            vec![(Role::Secretary, branch)],
        );
        for _ in 1..*other_size {
            b.person(Kind::Member, None, Some(branch), vec![]);
        }
    }
    b.plan
}

impl Builder {
    fn org(
        &mut self,
        name: &str,
        kind: OrgKind,
        sector: Sector,
        parent: Option<usize>,
        pace: u8,
    ) -> usize {
        self.plan.orgs.push(PlannedOrg {
            name: name.to_string(),
            kind,
            sector,
            parent,
            pace,
        });
        self.plan.orgs.len() - 1
    }

    /// A village branch with its committee (four cadres) and party groups holding the rest.
    fn village(
        &mut self,
        township: usize,
        name: &str,
        clan: &str,
        (groups, size): (usize, usize),
        pace: u8,
    ) {
        let branch = self.org(
            &format!("{name}党支部"),
            OrgKind::Branch,
            Sector::Village,
            Some(township),
            pace,
        );
        let groups: Vec<usize> = GROUPS
            .iter()
            .take(groups)
            .map(|g| {
                self.org(
                    &format!("{name}{g}"),
                    OrgKind::PartyGroup,
                    Sector::Village,
                    Some(branch),
                    pace,
                )
            })
            .collect();
        let committee = [
            Role::Secretary,
            Role::DeputySecretary,
            Role::CommitteeMember,
            Role::Organizer,
        ];
        for role in committee {
            self.person(Kind::Cadre, Some(clan), Some(branch), vec![(role, branch)]);
        }
        let show_first = !self.plan.people.iter().any(|p| p.show_login);
        for i in 0..size.saturating_sub(committee.len()) {
            let home = groups
                .get(i % groups.len().max(1))
                .copied()
                .unwrap_or(branch);
            self.person(Kind::Member, Some(clan), Some(home), vec![]);
            if i == 0
                && show_first
                && let Some(p) = self.plan.people.last_mut()
            {
                p.show_login = true;
            }
        }
    }

    fn person(
        &mut self,
        kind: Kind,
        clan: Option<&str>,
        home: Option<usize>,
        roles: Vec<(Role, usize)>,
    ) {
        let male = self.rng.chance(if kind == Kind::Member { 65 } else { 75 });
        let gender = if male { Gender::Male } else { Gender::Female };
        let name = self.name(male, clan);
        let phone = self.phone();
        // About one member in twelve is probationary and one in sixteen an activist,
        // spread evenly (a draw could leave a category empty).
        let category = match kind {
            Kind::Member => {
                self.members += 1;
                match self.members {
                    n if n % 16 == 7 => Category::Activist,
                    n if n % 12 == 3 => Category::Probationary,
                    _ => Category::Full,
                }
            }
            Kind::Admin | Kind::Cadre => Category::Full,
        };
        let age = match (kind, category) {
            (Kind::Admin, _) => self.rng.range(32, 50),
            (Kind::Cadre, _) => self.rng.range(35, 62),
            (_, Category::Full) => self.rng.range(26, 80),
            (_, Category::Probationary) => self.rng.range(22, 40),
            (_, Category::Activist) => self.rng.range(19, 38),
        };
        let birth_date = self.date(self.today.year() - age as i32);
        let joined_party_on = match category {
            Category::Full => {
                let join_age = self.rng.range(20, (age - 2).min(50));
                let joined = self.date(birth_date.year() + join_age as i32);
                Some(joined.min(self.days_ago(400)))
            }
            Category::Probationary => {
                let days = self.rng.range(40, 330);
                Some(self.days_ago(days))
            }
            Category::Activist => None,
        };
        // Activists have been activists for a few months to two years.
        let activist_days = self.rng.range(60, 720);
        let from_date = joined_party_on.unwrap_or_else(|| self.days_ago(activist_days));
        let status = if kind == Kind::Member && category == Category::Full && self.rng.chance(6) {
            MemberStatus::Migrant
        } else {
            MemberStatus::Active
        };
        let membership = home.map(|org| PlannedMembership {
            org,
            category,
            is_cadre: kind == Kind::Cadre,
            joined_party_on,
            status,
            from_date,
        });
        self.plan.people.push(PlannedPerson {
            name,
            phone,
            gender,
            birth_date,
            membership,
            roles,
            show_login: false,
        });
    }

    /// A full name not used yet: the village's clan surname a third of the time.
    fn name(&mut self, male: bool, clan: Option<&str>) -> String {
        let given = if male { MALE_GIVEN } else { FEMALE_GIVEN };
        let mut name = String::new();
        for _ in 0..100 {
            let surname = match clan {
                Some(c) if self.rng.chance(35) => c,
                _ => {
                    // The smaller of two draws: common surnames come up more often.
                    let i = self.rng.range(0, 74).min(self.rng.range(0, 74)) as usize;
                    SURNAMES.get(i).copied().unwrap_or("王")
                }
            };
            name = format!("{surname}{}", self.rng.pick(given));
            if self.names.insert(name.clone()) {
                break;
            }
        }
        name
    }

    /// A mobile number not used yet.
    fn phone(&mut self) -> String {
        loop {
            let prefix = self.rng.pick(PHONE_PREFIXES);
            let phone = format!("{prefix}{:08}", self.rng.draw() % 100_000_000);
            if self.phones.insert(phone.clone()) {
                return phone;
            }
        }
    }

    /// A day in `year` (1st–28th, so every month has it).
    fn date(&mut self, year: i32) -> NaiveDate {
        let month = self.rng.range(1, 12) as u32;
        let day = self.rng.range(1, 28) as u32;
        NaiveDate::from_ymd_opt(year, month, day).unwrap_or(self.today)
    }

    fn days_ago(&self, days: u64) -> NaiveDate {
        self.today
            .checked_sub_days(Days::new(days))
            .unwrap_or(self.today)
    }
}

/// How a member of the plan takes part, which the demo's history draws from: the chance in
/// percent of finishing each course open to them and of coming to each meeting they are
/// invited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engagement {
    pub study: u8,
    pub attend: u8,
}

impl Engagement {
    /// Studies nothing and comes to nothing.
    pub const NONE: Engagement = Engagement {
        study: 0,
        attend: 0,
    };
}

/// A number drawn from `text` and `salt` alone (FNV-1a, then SplitMix64's finalizer), so
/// a person's draws do not depend on who was planned before them.
pub fn hash(text: &str, salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    Rng(h).draw()
}

impl Plan {
    /// How `person` takes part (`None` for someone who is not a member): the pace of their
    /// home org, a personal spread of about ±20 points, cadres keener, migrant members
    /// (working away) studying online but rarely at meetings, and about one plain member in
    /// twenty — never a role holder nor one whose login is printed — doing nothing at all.
    pub fn engagement(&self, person: &PlannedPerson) -> Option<Engagement> {
        let m = person.membership.as_ref()?;
        let pace = i64::from(self.orgs.get(m.org)?.pace);
        let h = hash(&person.phone, 0x656e_6761_6765);
        if !person.show_login && person.roles.is_empty() && h % 100 < 5 {
            return Some(Engagement::NONE);
        }
        let spread = |bits: u64, width: i64| (bits % (2 * width as u64 + 1)) as i64 - width;
        let mut attend = 30 + pace * 55 / 100 + spread(h >> 8, 12);
        let mut study = pace * 9 / 10 - 15 + spread(h >> 24, 22);
        if m.is_cadre {
            attend += 8;
            study += 10;
        }
        if m.status == MemberStatus::Migrant {
            attend /= 4;
            study += 5;
        }
        Some(Engagement {
            study: study.clamp(0, 100) as u8,
            attend: attend.clamp(0, 98) as u8,
        })
    }
}
