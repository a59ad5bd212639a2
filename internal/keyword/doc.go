// Package keyword implements WeCom's keyword rules (关键词规则) of the data &
// intelligence zone: the rule body that create_rule / update_rule receive
// and get_rule_detail returns (WeCom doc 99829 / 99973, 关键词规则管理), its
// validation with WeCom's limits and errcodes, and the matching of archived
// messages against a rule, whose hits feed get_hit_msg_list and the
// hit_keyword event.
//
// A rule watches two things:
//
//   - keywords (关键词): up to 20 words of 1–32 characters, matched in text
//     messages either as substrings (match_rule 0, 包含) or against the whole
//     message (match_rule 1, 完全匹配), optionally case-sensitively and, for
//     exact matching, after trimming spaces, tabs and newlines (is_trim_msg);
//   - key behaviours (关键行为, "semantics", 语义): a list of the values 1–12
//     below, some recognised in the text of a message, some from its msgtype.
//
// The semantics values, as WeCom lists them, and how this package recognises
// each one:
//
//	 1 红包              msgtype 13 (red packet)
//	 2 手机号码          text: a mainland mobile number 1[3-9]x{9} (11 digits, not part of a
//	                     longer number; "138 0013 8000", "138-0013-8000", "+86 …" and
//	                     full-width digits are recognised too), not in exclude_mobile
//	 3 邮箱地址          text: an e-mail address, not in exclude_email
//	 4 微信名片          msgtype 9 (card, 名片)
//	 5 带二维码图片      not recognised here (needs image decoding): only via Msg.Detected
//	 6 撤回消息          not recognised here (the archive carries no recall marker): Msg.Detected
//	 7 银行卡号          text: 13–19 digits (contiguous or in groups of 4) passing the Luhn
//	                     check, that are not a valid 身份证号, not in exclude_bank_card
//	 8 身份证号          text: an 18-character resident identity number (GB 11643: valid
//	                     birth date and MOD 11-2 check character, final X allowed)
//	 9 发送文件          msgtype 8 (file); WeDrive files (微盘文件, msgtype 23) do not count
//	10 发送链接          msgtype 4 (link), or text containing http://, https:// or www.
//	11 发送小程序        msgtype 5 (mini-program)
//	12 发送客户欢迎语    not recognised here (no marker in the archive): Msg.Detected
//
// Text recognition (keywords and semantics 2, 3, 7, 8, 10) applies to text
// messages (msgtype 1) and to the voice msgtypes a rule lists in
// applicable_range.voice_match_msgtype (6 voice, 21 audio archive), whose
// Msg.Text is then the transcript.
//
// The applicable range (适用范围) restricts which messages a rule looks at.
// The "object" (对象) of WeCom's wording is the sender of the message:
//
//   - target_type.type_list: 1 员工 (member senders), 2 客户 (external
//     contacts); absent = both;
//   - user.id_list / department.id_list restrict member senders (a member
//     listed by id or in a listed department); external_contact.id_list
//     restricts external senders; as WeCom documents, a list of one kind does
//     not restrict the other kind unless target_type says so;
//   - chat_type.type_list: 1 单聊 (no chatid), 2 群聊; chat.id_list restricts
//     group chats only;
//   - session_type.session_type_list (会话范围): 1 customer sessions (some
//     party is an external contact), 2 internal sessions (none is) — the
//     values are OpenZone's reading, the public docs do not spell them out;
//   - msg_scope: 1 all messages, 2 messages sent by members, 3 messages sent
//     by external contacts — OpenZone's reading, not confirmed by public docs;
//   - exclude_mobile / exclude_email / exclude_bank_card: white lists
//     (白名单) of values that do not count for semantics 2 / 3 / 7;
//   - exclude_keyword: words that, found in a message, stop it from hitting
//     the rule at all; accepted as ["w", …] or {"word_list": ["w", …]}.
//
// A message hits a rule when it is in range, contains no excluded word, and
// hits a keyword or one of the watched semantics; Match reports both parts
// (has_hit_keyword and semantics_list of get_hit_msg_list).
//
// For speed, Compile a rule once into a Matcher (words lower-cased, lists
// turned into sets) and match many messages with it; Rule.Match does that on
// first use and keeps the Matcher.
package keyword
