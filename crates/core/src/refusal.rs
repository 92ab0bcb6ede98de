//! Every way a request can be refused: one variant per stable error code.
//!
//! Owns: the codes (`vote_closed`), their Chinese messages and their class. Invariants: no
//! stable code is written anywhere else; nothing branches on a code's text (match the
//! variant); a refusal carries no HTTP concern: the server maps each [`Class`] to a status
//! (the status a variant gets is written on it, for the API's readers).

use std::fmt;

/// Which device a bearer token was expected from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// A deputy's tablet (表决终端).
    Tablet,
    /// A scrutineer's device (监票人终端).
    Scrutineer,
}

/// Why an enrolment code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeProblem {
    /// Unknown, mistyped or already used on a tablet.
    DeputyCode,
    /// A scrutineer's card typed into a deputy's tablet.
    ScrutineerCardOnTablet,
    /// Unknown or used scrutineer code.
    ScrutineerCode,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400 `bad_json`: the body is not the JSON this route takes (the message names the field).
    #[error("JSON 格式有误：{0}")]
    BadJson(String),
    /// 400 `bad_json`: something follows the JSON value.
    #[error("JSON 之后还有多余内容")]
    TrailingJson,
    /// 400 `content_type`: a JSON route got another content type.
    #[error("请求须为 JSON（Content-Type: application/json）")]
    NotJson,
    /// 400 `content_type`: a rules document must be submitted as JSON.
    #[error("办法文件须以 application/json 提交")]
    RulesNotJson,
    /// 400 `content_type`: a roster must be submitted as CSV (`text/csv`); the types a
    /// cross-site form can send without asking (`text/plain`, forms) are refused.
    #[error("名册须以 text/csv 提交")]
    RosterNotCsv,
    /// 400 `bad_body`: the body could not be read.
    #[error("请求内容无法读取")]
    BadBody,
    /// 413 `body_too_large`.
    #[error("请求内容过大")]
    BodyTooLarge,
    /// 408 `body_timeout`: the body trickled in too slowly.
    #[error("请求内容发送过慢")]
    BodyTimeout,
    /// 400 `missing_field`: a required text is empty.
    #[error("{0} 不能为空")]
    MissingField(&'static str),
    /// 400 `field_too_long`.
    #[error("{0} 不能超过{1}个字")]
    FieldTooLong(&'static str, usize),
    /// 400 `bad_character`: a text holds a control character.
    #[error("{0} 含有控制字符")]
    BadCharacter(&'static str),
    /// 400 `reason_required`: the secretariat acts for a deputy without saying why.
    #[error("秘书处代为签到、退场或登记请假须写明原因")]
    ReasonRequired,
    /// 400 `bad_passphrase`: longer than any passphrase the appliance makes.
    #[error("口令过长")]
    PassphraseTooLong,
    /// 401 `bad_passphrase`.
    #[error("口令不正确")]
    WrongPassphrase,
    /// 400 `bad_roster`: the roster CSV (the message names the line).
    #[error("名册有误：{0}")]
    BadRoster(String),
    /// 400 `bad_rules`: the rules document (the message names the field).
    #[error("办法文件有误：{0}")]
    BadRules(String),
    /// 400 `bad_items`: a vote's items do not fit its rules.
    #[error("{0}")]
    BadItems(String),
    /// 400 `bad_mode`: the vote cannot take the mode asked (or the default), and why.
    #[error("{0}")]
    BadMode(String),
    /// 409 `not_awaiting_roll_call`: a roll call for a vote the secretariat has not opened.
    #[error("秘书处尚未开始该表决，不能签署点名（{0}）")]
    NotAwaitingRollCall(String),
    /// 400 `bad_public_key`: a scrutineer's key is not a strict Ed25519 key.
    #[error("公钥无效：{0}")]
    BadPublicKey(String),
    /// 400 `bad_signature`: a co-signature is not 64 bytes of hex.
    #[error("会签签名应为128位十六进制数")]
    CosignatureFormat,
    /// 400 `bad_signature`: a co-signature does not verify under the scrutineer's key.
    #[error("会签签名不能用您登记的公钥验证")]
    CosignatureInvalid,
    /// 400 `wrong_vote`: a cast names another vote than its URL.
    #[error("选票属于表决 {ballot}，不是当前表决 {vote}")]
    WrongVote { ballot: String, vote: String },
    /// 400 `bad_ballot_id`.
    #[error("ballot_id 应为32位十六进制数")]
    BadBallotId,
    /// 400 `wrong_item_count`.
    #[error("本次表决共{items}项，选票填写了{filled}项")]
    WrongItemCount { items: usize, filled: usize },
    /// 400 `unknown_option`: a choice outside the ballot's options (`number` from 1).
    #[error("第{number}项「{item}」的选择无效")]
    UnknownOption { number: usize, item: String },
    /// 400 `too_many_yes`: more 赞成 than the 票决 allows.
    #[error("最多只能对{max}个项目投{yes_word}票，选票中有{yes}个")]
    TooManyYes {
        max: u32,
        yes: usize,
        yes_word: String,
    },
    /// 401 `login_required`.
    #[error("请先以秘书处身份登录")]
    LoginRequired,
    /// 401 `login_expired`.
    #[error("登录已失效，请重新登录")]
    LoginExpired,
    /// 401 `token_missing`: no bearer token.
    #[error("{}尚未登记", device_zh(*.0))]
    TokenMissing(Device),
    /// 401 `token_invalid`: a revoked or unknown bearer token.
    #[error("{}", token_invalid_zh(*.0))]
    TokenInvalid(Device),
    /// 401 `code_unknown`: an enrolment code that is not (or no longer) valid here.
    #[error("{}", code_problem_zh(*.0))]
    CodeUnknown(CodeProblem),
    /// 403 `operators_only`.
    #[error("只有大会秘书处可以这样做")]
    OperatorsOnly,
    /// 403 `deputies_only`.
    #[error("只有代表的表决终端可以这样做")]
    DeputiesOnly,
    /// 403 `scrutineers_only`.
    #[error("只有监票人可以这样做")]
    ScrutineersOnly,
    /// 403 `foreign_origin`: a state-changing request sent by a page of another origin
    /// (another site, or another port of this one): a cross-site request forgery.
    #[error("拒绝来自其他网页的请求，请在本系统自己的页面上操作")]
    ForeignOrigin,
    /// 403 `not_enabled`: the deputy was not checked in when the vote opened.
    #[error("开始表决时您未签到，不能参加本次表决")]
    NotEnabled,
    /// 404 `not_found`: no such address.
    #[error("没有这个地址")]
    NotFound,
    /// 404 `vote_unknown`.
    #[error("没有表决 {0}")]
    VoteUnknown(String),
    /// 404 `deputy_unknown`.
    #[error("没有编号为 {0} 的代表")]
    DeputyUnknown(String),
    /// 404 `rules_unknown`.
    #[error("没有通过哈希为 {0} 的办法")]
    RulesUnknown(String),
    /// 404 `not_announced`: a public result before its announcement.
    #[error("表决{0}，结果尚未宣布")]
    NotAnnounced(&'static str),
    /// 409 `roster_exists`.
    #[error("名册已导入，不能再次导入")]
    RosterExists,
    /// 409 `no_roster`.
    #[error("尚未导入代表名册")]
    NoRoster,
    /// 409 `quorum_not_met`: too few present to open a vote.
    #[error("应到{seated}名，实到{present}名，不足法定人数（{minimum}名），不能开始表决")]
    QuorumNotMet {
        seated: u64,
        present: u64,
        minimum: u64,
    },
    /// 409 `vote_not_draft`: only a draft can be opened.
    #[error("表决{0}，不能开始")]
    VoteNotDraft(&'static str),
    /// 409 `vote_not_open`: a ballot or cast before the vote opened.
    #[error("表决尚未开始")]
    VoteNotOpenYet,
    /// 409 `vote_not_open`: only an open vote can be closed.
    #[error("表决{0}，不能结束")]
    VoteNotOpen(&'static str),
    /// 409 `vote_not_closed`: only a closed vote can be announced.
    #[error("表决{0}，只有已结束的表决才能宣布")]
    VoteNotClosed(&'static str),
    /// 409 `period_running`: a secret vote closes when its period ends, or earlier only once
    /// every enabled deputy has cast (closing at a chosen moment could reveal a ballot).
    #[error(
        "无记名表决须在表决时间结束或全体可投票代表均已投票后结束（已投{cast}人，共{enabled}人，还剩{seconds_left}秒）"
    )]
    PeriodRunning {
        cast: u64,
        enabled: u64,
        seconds_left: u64,
    },
    /// 409 `already_extended`: the voting period may be extended once.
    #[error("表决时间只能延长一次")]
    AlreadyExtended,
    /// 400 `bad_extension`: an extension outside the allowed range.
    #[error("延长时间须在{min}至{max}秒之间")]
    BadExtension { min: u32, max: u32 },
    /// 409 `deputy_in_open_vote`: a deputy enabled in an open vote keeps their presence and
    /// their tablet until it closes.
    #[error("该代表正在参加表决{0}，须待表决结束后才能变更其出席状态、登记码或终端")]
    DeputyInOpenVote(String),
    /// 409 `scrutineers_frozen`: no scrutineer is named or enrolled while a vote is open
    /// (the set in force when it opened is signed into it).
    #[error("表决{0}进行中，表决结束后才能增设或登记监票人")]
    ScrutineersFrozen(String),
    /// 403 `scrutineer_not_in_vote`: only the scrutineers signed into a vote co-sign it.
    #[error("您不在本次表决开始时确定的监票人之列，不能会签")]
    ScrutineerNotInVote,
    /// 400 `bad_cosignature`: a scrutineer's co-signature of an intervention that does not
    /// hold (the message says why).
    #[error("监票人会签无效：{0}")]
    InterventionCosignature(&'static str),
    /// 400 `bad_manifest`: an encrypted-ballot session manifest that is not valid (SPEC-E2E
    /// §6.4; the message names the field) or not for this appliance.
    #[error("会议清单（session manifest）无效：{0}")]
    BadManifest(String),
    /// 409 `manifest_published`: the session manifest is published once and never changes.
    #[error("本次会议的清单已公布（mh {0}），不能更换")]
    ManifestPublished(String),
    /// 400 `bad_board_message`: a key-ceremony message that does not verify (SPEC-E2E §8;
    /// the message names the sender, the field and why). Nothing is stored.
    #[error("密钥仪式消息被拒绝：{0}")]
    BoardMessage(String),
    /// 409 `board_conflict`: a valid-looking ceremony message that does not fit the board's
    /// state (another attempt, posted twice differently, too early).
    #[error("密钥仪式消息与当前进度不符：{0}")]
    BoardConflict(String),
    /// 400 `bad_e2e_vote`: an encrypted vote's manifest, roll call or partial decryption
    /// that does not verify (the message names the field).
    #[error("加密表决数据无效：{0}")]
    E2eVote(String),
    /// 409 `e2e_vote_conflict`: an encrypted-vote step out of turn (exists, not closed, …).
    #[error("加密表决的步骤与当前进度不符：{0}")]
    E2eVoteConflict(String),
    /// 409 `revote_conflict`: a re-vote (重新表决) of a vote that was neither cancelled nor
    /// declared failed, or that already has its re-vote.
    #[error("不能重新表决：{0}")]
    RevoteConflict(String),
    /// 409 `runoff_conflict`: a run-off the parent vote does not call for (no tie at the cut,
    /// no seats left, not decided yet) or already has.
    #[error("不能重新票决：{0}")]
    RunoffConflict(String),
    /// 409 `session_sealed`: the session was sealed after its archive; no vote opens.
    #[error("本次会议已封存，不能再开始表决")]
    SessionSealed,
    /// 400 `bad_manual_count`: a manual count that does not fit the vote (the field named).
    #[error("人工计票结果无效：{0}")]
    BadManualCount(String),
    /// 400 `bad_source_bundle`: a 测评 cannot be built from this bundle, and why.
    #[error("来源票决结果无效：{0}")]
    BadSourceBundle(String),
    /// 400 `ballot_rejected`: an encrypted ballot refused by §7.6 (reason `invalid`,
    /// `duplicate-credential` or `not-enabled`, then the detail); kept for the bundle.
    #[error("选票被拒收：{0}")]
    BallotRejected(String),
    /// 404 `ceremony_incomplete`: the scrutineers' key ceremony has not completed.
    #[error("监票人密钥仪式尚未完成")]
    CeremonyIncomplete,
    /// 404 `no_manifest`: no encrypted-ballot session manifest has been published.
    #[error("本次会议尚未公布加密表决的会议清单")]
    NoManifest,
    /// 409 `vote_final`: a closed vote cannot be cancelled.
    #[error("表决{0}，不能取消")]
    VoteFinal(&'static str),
    /// 409 `vote_closed`: a cast after the close.
    #[error("表决已结束，不能再投票")]
    VoteClosed,
    /// 409 `vote_cancelled`.
    #[error("本次表决已取消")]
    VoteCancelled,
    /// 409 `already_cast`: a second, different cast by one deputy.
    #[error("您已投票，每位代表只能投票一次")]
    AlreadyCast,
    /// 409 `no_result`: the vote has no result yet (in the state named, if known).
    #[error("{}", no_result_zh(*.0))]
    NoResult(Option<&'static str>),
    /// 409 `no_result`: nothing to co-sign yet.
    #[error("表决{0}，尚无结果可会签")]
    NothingToCosign(&'static str),
    /// 409 `cosignatures_missing`: the rules require more co-signatures before announcing.
    #[error("办法规定须有{required}名监票人会签，目前{have}名，尚不能宣布")]
    CosignaturesMissing { required: u32, have: u32 },
    /// 429 `too_many_attempts`: this address failed too often; wait `minutes`.
    #[error("尝试次数过多，请{minutes}分钟后再试或联系大会秘书处")]
    TooManyAttempts { minutes: u64 },
    /// 429 `too_many_listeners`: too many event streams are open (from this address, or in
    /// all); the page reconnects by itself.
    #[error("实时推送连接过多，请稍后再试")]
    TooManyListeners,
    /// 500 `receipt_collision`: a freshly drawn receipt code was taken; the caller draws again.
    #[error("回执码重复，请重试")]
    ReceiptCollision,
    /// 500 `internal`: the appliance failed. The message is generic; the cause (second
    /// field) is for the log, written once where the refusal becomes an answer.
    #[error("{0}")]
    Internal(&'static str, String),
}

/// The class of a refusal, which the server maps to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 400.
    Invalid,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 408.
    Timeout,
    /// 409.
    Conflict,
    /// 413.
    TooLarge,
    /// 429.
    TooMany,
    /// 500.
    Internal,
}

impl Refusal {
    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        use Refusal::*;
        match self {
            BadJson(_) | TrailingJson => "bad_json",
            NotJson | RulesNotJson | RosterNotCsv => "content_type",
            BadBody => "bad_body",
            BodyTooLarge => "body_too_large",
            BodyTimeout => "body_timeout",
            MissingField(_) => "missing_field",
            FieldTooLong(..) => "field_too_long",
            BadCharacter(_) => "bad_character",
            ReasonRequired => "reason_required",
            PassphraseTooLong | WrongPassphrase => "bad_passphrase",
            BadRoster(_) => "bad_roster",
            BadRules(_) => "bad_rules",
            BadItems(_) => "bad_items",
            BadMode(_) => "bad_mode",
            NotAwaitingRollCall(_) => "not_awaiting_roll_call",
            BadPublicKey(_) => "bad_public_key",
            CosignatureFormat | CosignatureInvalid => "bad_signature",
            WrongVote { .. } => "wrong_vote",
            BadBallotId => "bad_ballot_id",
            WrongItemCount { .. } => "wrong_item_count",
            UnknownOption { .. } => "unknown_option",
            TooManyYes { .. } => "too_many_yes",
            LoginRequired => "login_required",
            LoginExpired => "login_expired",
            TokenMissing(_) => "token_missing",
            TokenInvalid(_) => "token_invalid",
            CodeUnknown(_) => "code_unknown",
            OperatorsOnly => "operators_only",
            DeputiesOnly => "deputies_only",
            ScrutineersOnly => "scrutineers_only",
            ForeignOrigin => "foreign_origin",
            NotEnabled => "not_enabled",
            NotFound => "not_found",
            VoteUnknown(_) => "vote_unknown",
            DeputyUnknown(_) => "deputy_unknown",
            RulesUnknown(_) => "rules_unknown",
            NotAnnounced(_) => "not_announced",
            RosterExists => "roster_exists",
            NoRoster => "no_roster",
            QuorumNotMet { .. } => "quorum_not_met",
            VoteNotDraft(_) => "vote_not_draft",
            VoteNotOpenYet | VoteNotOpen(_) => "vote_not_open",
            VoteNotClosed(_) => "vote_not_closed",
            VoteFinal(_) => "vote_final",
            PeriodRunning { .. } => "period_running",
            AlreadyExtended => "already_extended",
            BadExtension { .. } => "bad_extension",
            DeputyInOpenVote(_) => "deputy_in_open_vote",
            ScrutineersFrozen(_) => "scrutineers_frozen",
            BadManifest(_) => "bad_manifest",
            ManifestPublished(_) => "manifest_published",
            NoManifest => "no_manifest",
            BoardMessage(_) => "bad_board_message",
            CeremonyIncomplete => "ceremony_incomplete",
            E2eVote(_) => "bad_e2e_vote",
            E2eVoteConflict(_) => "e2e_vote_conflict",
            RevoteConflict(_) => "revote_conflict",
            RunoffConflict(_) => "runoff_conflict",
            SessionSealed => "session_sealed",
            BadManualCount(_) => "bad_manual_count",
            BadSourceBundle(_) => "bad_source_bundle",
            BallotRejected(_) => "ballot_rejected",
            BoardConflict(_) => "board_conflict",
            InterventionCosignature(_) => "bad_cosignature",
            ScrutineerNotInVote => "scrutineer_not_in_vote",
            VoteClosed => "vote_closed",
            VoteCancelled => "vote_cancelled",
            AlreadyCast => "already_cast",
            NoResult(_) | NothingToCosign(_) => "no_result",
            CosignaturesMissing { .. } => "cosignatures_missing",
            TooManyAttempts { .. } => "too_many_attempts",
            TooManyListeners => "too_many_listeners",
            ReceiptCollision => "receipt_collision",
            Internal(..) => "internal",
        }
    }

    /// For people, in Chinese.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// What kind of refusal this is; the server turns it into a status.
    pub fn class(&self) -> Class {
        use Refusal::*;
        match self {
            BadJson(_)
            | TrailingJson
            | NotJson
            | RulesNotJson
            | RosterNotCsv
            | BadBody
            | MissingField(_)
            | FieldTooLong(..)
            | BadCharacter(_)
            | ReasonRequired
            | PassphraseTooLong
            | BadRoster(_)
            | BadRules(_)
            | BadItems(_)
            | BadMode(_)
            | BadManualCount(_)
            | BadSourceBundle(_)
            | BadPublicKey(_)
            | CosignatureFormat
            | CosignatureInvalid
            | WrongVote { .. }
            | BadBallotId
            | WrongItemCount { .. }
            | UnknownOption { .. }
            | TooManyYes { .. }
            | BadExtension { .. }
            | BadManifest(_)
            | BoardMessage(_)
            | E2eVote(_)
            | BallotRejected(_)
            | InterventionCosignature(_) => Class::Invalid,
            WrongPassphrase | LoginRequired | LoginExpired | TokenMissing(_) | TokenInvalid(_)
            | CodeUnknown(_) => Class::Unauthorized,
            OperatorsOnly | DeputiesOnly | ScrutineersOnly | NotEnabled | ScrutineerNotInVote
            | ForeignOrigin => Class::Forbidden,
            NotFound | VoteUnknown(_) | DeputyUnknown(_) | RulesUnknown(_) | NotAnnounced(_)
            | NoManifest | CeremonyIncomplete => Class::NotFound,
            BodyTimeout => Class::Timeout,
            RosterExists
            | NoRoster
            | QuorumNotMet { .. }
            | VoteNotDraft(_)
            | VoteNotOpenYet
            | VoteNotOpen(_)
            | VoteNotClosed(_)
            | VoteFinal(_)
            | VoteClosed
            | VoteCancelled
            | AlreadyCast
            | NoResult(_)
            | NothingToCosign(_)
            | CosignaturesMissing { .. }
            | PeriodRunning { .. }
            | AlreadyExtended
            | DeputyInOpenVote(_)
            | ScrutineersFrozen(_)
            | ManifestPublished(_)
            | BoardConflict(_)
            | E2eVoteConflict(_)
            | RevoteConflict(_)
            | RunoffConflict(_)
            | SessionSealed
            | NotAwaitingRollCall(_) => Class::Conflict,
            BodyTooLarge => Class::TooLarge,
            TooManyAttempts { .. } | TooManyListeners => Class::TooMany,
            ReceiptCollision | Internal(..) => Class::Internal,
        }
    }

    /// An internal failure answered with `message`; `cause` is kept for the log.
    pub fn internal(message: &'static str, cause: impl fmt::Display) -> Refusal {
        Refusal::Internal(message, cause.to_string())
    }
}

fn device_zh(d: Device) -> &'static str {
    match d {
        Device::Tablet => "表决终端",
        Device::Scrutineer => "监票人终端",
    }
}

fn token_invalid_zh(d: Device) -> &'static str {
    match d {
        Device::Tablet => "表决终端的登记已失效，请向大会秘书处申请新的登记卡",
        Device::Scrutineer => "监票人终端的登记已失效",
    }
}

fn code_problem_zh(p: CodeProblem) -> &'static str {
    match p {
        CodeProblem::DeputyCode => "登记码无效或已使用，请向大会秘书处申请新的登记卡",
        CodeProblem::ScrutineerCardOnTablet => "这是监票人的登记卡，请在监票人终端上使用",
        CodeProblem::ScrutineerCode => "监票人登记码无效或已使用",
    }
}

fn no_result_zh(state: Option<&'static str>) -> String {
    match state {
        Some(s) => format!("表决{s}，尚无结果"),
        None => "该表决尚无结果".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_snake_case_and_every_message_is_said() {
        let samples = [
            Refusal::BadJson("x".into()),
            Refusal::TokenInvalid(Device::Scrutineer),
            Refusal::CodeUnknown(CodeProblem::ScrutineerCardOnTablet),
            Refusal::NoResult(None),
            Refusal::QuorumNotMet {
                seated: 300,
                present: 150,
                minimum: 151,
            },
            Refusal::internal("内部错误", "test"),
        ];
        for r in samples {
            assert!(
                r.code()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!(!r.message().is_empty());
        }
        assert_eq!(
            Refusal::QuorumNotMet {
                seated: 300,
                present: 150,
                minimum: 151
            }
            .message(),
            "应到300名，实到150名，不足法定人数（151名），不能开始表决"
        );
    }
}
