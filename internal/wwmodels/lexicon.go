package wwmodels

// The builtin backend's lexicons. They were written for OpenZone by its
// authors from general knowledge of Chinese and English (no word list was
// copied from elsewhere) and ship under the project's licence. They are
// small on purpose: enough for a developer's tests to see sensible
// answers, not a production classifier. Weights: 1 ordinary, 2 strong.

// sentimentZH and sentimentEN: positive words have positive weights.
// Entries are matched longest first, so "不错" (good) wins over "不"
// (a negator) and "不满意" over "满意".
var sentimentZH = map[string]int{
	// positive
	"满意": 2, "非常满意": 2, "很满意": 2, "喜欢": 1, "不错": 1, "太好了": 2, "很好": 1, "真好": 1, "挺好": 1, "非常好": 2,
	"好评": 2, "五星": 1, "点赞": 2, "棒": 1, "太棒": 2, "优秀": 1, "完美": 2, "专业": 1, "耐心": 1, "周到": 1, "热情": 1,
	"方便": 1, "好用": 1, "实用": 1, "划算": 1, "值得": 1, "信赖": 1, "靠谱": 1, "推荐": 1, "合理": 1, "认可": 1,
	"感谢": 1, "谢谢": 1, "多谢": 1, "感激": 1, "辛苦": 0, "开心": 2, "高兴": 2, "愉快": 1, "惊喜": 2, "放心": 1,
	"解决了": 1, "帮了大忙": 2, "及时": 1, "快速": 1, "顺利": 1, "期待": 1, "成功": 1, "舒服": 1, "漂亮": 1,
	// negative
	"不满意": -2, "不满": -2, "失望": -2, "差": -1, "太差": -2, "很差": -2, "真差": -2, "差劲": -2, "糟糕": -2, "垃圾": -2,
	"生气": -2, "愤怒": -2, "气死": -2, "烦": -1, "烦死": -2, "恶心": -2, "讨厌": -2, "后悔": -2, "无语": -1, "郁闷": -1,
	"坏了": -1, "破损": -1, "碎了": -1, "故障": -1, "出错": -1, "报错": -1, "崩": -1, "卡顿": -1, "打不开": -1, "用不了": -1,
	"问题": 0, "出问题": -1, "慢": -1, "太慢": -2, "延期": -1, "延迟": -1, "拖延": -1, "没人回复": -2, "不回复": -1,
	"骗": -2, "骗人": -2, "欺骗": -2, "坑": -1, "浪费": -2, "破产品": -2, "投诉": -2, "差评": -2, "退货": -1, "赶紧": -1,
	"再也不": -2, "不好": -1, "不行": -1, "麻烦": 0, "遗憾": -1, "可惜": -1, "难用": -2, "太贵": 0, "乱扣": -2, "扣了": -1,
}

var sentimentEN = map[string]int{
	// positive
	"good": 1, "great": 2, "excellent": 2, "amazing": 2, "awesome": 2, "wonderful": 2, "fantastic": 2, "perfect": 2,
	"nice": 1, "love": 2, "like": 1, "likes": 1, "liked": 1, "happy": 2, "glad": 1, "pleased": 2, "satisfied": 2,
	"thanks": 1, "thank": 1, "appreciate": 1, "grateful": 1, "helpful": 1, "professional": 1, "patience": 1, "patient": 1,
	"easy": 1, "convenient": 1, "recommend": 1, "recommended": 1, "fair": 1, "thoughtful": 1, "trustworthy": 1,
	"reliable": 1, "quick": 1, "fast": 1, "fixed": 1, "solved": 1, "saved": 1, "enjoy": 1, "enjoyed": 1, "worth": 1,
	"five stars": 2, "looking forward": 1, "well done": 2, "best": 1, "impressive": 2, "smooth": 1, "delighted": 2,
	// negative
	"bad": -1, "terrible": -2, "awful": -2, "horrible": -2, "worst": -2, "poor": -1, "disappointing": -2,
	"disappointed": -2, "angry": -2, "annoying": -2, "annoyed": -2, "frustrated": -2, "frustrating": -2, "upset": -2,
	"hate": -2, "useless": -2, "waste": -2, "broken": -1, "broke": -1, "damaged": -1, "smashed": -1, "crashed": -1,
	"crash": -1, "errors": -1, "error": -1, "failed": -1, "fails": -1, "slow": -1, "delayed": -1, "late": -1,
	"liars": -2, "liar": -2, "scam": -2, "cheated": -2, "rude": -2, "complain": -2, "complaint": -2, "never again": -2,
	"charged twice": -2, "double charged": -2, "unacceptable": -2, "ridiculous": -2, "regret": -2, "sucks": -2,
	"would like": 0, "we'd like": 0, "i'd like": 0, "you'd like": 0, "feel like": 0, "looks like": 0,
	"nobody answered": -2, "no response": -1, "problem": 0, "issue": 0, "defective": -2, "refund": 0, "sorry": 0,
}

// negatorsZH and negatorsEN flip the sentiment word that follows closely.
var negatorsZH = []string{"不太", "不是很", "不够", "不", "没有", "没", "别", "无", "未"}

var negatorsEN = map[string]bool{
	"not": true, "no": true, "never": true, "don't": true, "doesn't": true, "didn't": true, "isn't": true,
	"wasn't": true, "aren't": true, "weren't": true, "can't": true, "cannot": true, "won't": true, "hardly": true,
}

// spamZH and spamEN: porn (2) and political (1) cues with their weights;
// a message is spam when its strongest kind sums to at least 2.
type spamCue struct {
	kind   int // 1 political, 2 porn (WeCom's spam_result values)
	weight int
}

var spamZH = map[string]spamCue{
	// porn (色情)
	"色情": {2, 2}, "情色": {2, 2}, "成人影片": {2, 2}, "成人视频": {2, 2}, "成人网站": {2, 2}, "黄片": {2, 2}, "黄色网站": {2, 2},
	"裸聊": {2, 2}, "裸照": {2, 2}, "约炮": {2, 2}, "一夜情": {2, 2}, "援交": {2, 2}, "包夜": {2, 2}, "上门服务": {2, 1},
	"私密视频": {2, 2}, "私密服务": {2, 2}, "陪聊": {2, 2}, "同城约": {2, 1}, "寂寞": {2, 1}, "美女": {2, 1}, "性感": {2, 1},
	"激情": {2, 1}, "刺激": {2, 1}, "老司机": {2, 1}, "福利视频": {2, 2}, "av": {2, 1}, "小姐": {2, 1}, "嫖": {2, 2},
	// political (涉政)
	"反动": {1, 2}, "颠覆": {1, 2}, "推翻政府": {1, 2}, "推翻": {1, 1}, "分裂国家": {1, 2}, "煽动": {1, 2}, "暴乱": {1, 2},
	"政变": {1, 2}, "邪教": {1, 2}, "上街": {1, 1}, "游行": {1, 1}, "示威": {1, 1}, "独立运动": {1, 2}, "国家政权": {1, 1},
	"传单": {1, 1}, "起义": {1, 1}, "组织": {1, 0},
}

var spamEN = map[string]spamCue{
	"porn": {2, 2}, "porno": {2, 2}, "pornography": {2, 2}, "xxx": {2, 2}, "nude": {2, 2}, "nudes": {2, 2}, "naked": {2, 1},
	"adult videos": {2, 2}, "adult video": {2, 2}, "adult movies": {2, 2}, "sex": {2, 2}, "sexy": {2, 1}, "escort": {2, 2},
	"escorts": {2, 2}, "hookup": {2, 2}, "hot girls": {2, 2}, "camgirl": {2, 2}, "strip": {2, 1}, "erotic": {2, 2},
	"lonely": {2, 1}, "discreet": {2, 1}, "thrills": {2, 1}, "one night stand": {2, 2},
	"overthrow": {1, 2}, "subvert": {1, 2}, "subversion": {1, 2}, "regime": {1, 1}, "insurrection": {1, 2},
	"riot": {1, 2}, "uprising": {1, 1}, "secession": {1, 2}, "separatist": {1, 2}, "coup": {1, 2}, "leaflet": {1, 1},
	"to the streets": {1, 1}, "state power": {1, 1}, "the government": {1, 1}, "revolution": {1, 1},
}

// concept is a family of words: a tag whose name holds one of its
// triggers matches a message holding one of its cues (or, for
// sentiment-backed concepts, a message of that sentiment).
type concept struct {
	triggers  []string
	cues      []string
	sentiment int // 1 or 2: also matched by a message of this sentiment
}

var concepts = []concept{
	{triggers: []string{"价格", "价钱", "报价", "优惠", "price", "pricing", "cost"},
		cues: []string{"价格", "价钱", "价位", "优惠", "便宜", "贵", "折扣", "打折", "报价", "预算", "多少钱", "降价", "促销", "活动价", "性价比",
			"price", "prices", "pricing", "discount", "cheap", "cheaper", "expensive", "quote", "budget", "sale", "deal", "coupon", "cost"}},
	{triggers: []string{"退款", "退货", "退钱", "refund", "return"},
		cues: []string{"退款", "退货", "退钱", "退回", "退还", "换货", "赔偿", "refund", "refunds", "return it", "money back", "give it back", "charged twice", "reimburse"}},
	{triggers: []string{"投诉", "complaint", "complain", "不满"},
		cues: []string{"投诉", "差评", "complain", "complaint"}, sentiment: 2},
	{triggers: []string{"满意", "好评", "satisf", "happy"},
		cues: []string{"满意", "好评", "satisfied", "five stars"}, sentiment: 1},
	{triggers: []string{"高意向", "强意向", "high intent", "strong intent", "意向高"},
		cues: []string{"下单", "购买", "采购", "订购", "签约", "合同", "演示", "试用", "还会再来买", "再来买", "买", "发货", "报个价", "合作",
			"order", "buy", "purchase", "sign", "contract", "demo", "trial", "ship", "quote", "exactly what we need"}},
	{triggers: []string{"低意向", "弱意向", "low intent", "weak intent", "意向低"},
		cues: []string{"随便问问", "随便看看", "暂时不需要", "不需要", "先看看", "以后再说", "别家买了", "不感兴趣",
			"just asking", "just looking", "don't need", "no need", "look around", "not interested", "maybe later", "bought elsewhere"}},
}
