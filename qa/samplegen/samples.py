"""The committed sample calls (recordings_sample/): each rule passes and fails somewhere.

Phrases are quoted from the service standards in the seeds (seed 001):
greetings 客服标准用语 4.1 and 第二篇 (三)1 / (四)1 (节日好/周末好/新年好),
closings 第三篇 34 and 4.5, the late-answer apology 第三篇 15, hold wording
第二篇 (三)6-8, the silent-line procedure 第三篇 4, and taboo phrases from
第二篇 (二) 服务忌语 and 第三篇 不可以说.
"""

from __future__ import annotations

from .scenario import CallSpec, Hold, Pause, Ring, Say, Voice, expected_outcomes

A, C = "agent", "customer"

ASK_MORE = Say(A, "请问还有什么可以帮助您?", ("closing",))
NOTHING_ELSE = Say(C, "没有了,谢谢。")
THANKS_BYE = Say(A, "感谢您的来电,再见!", ("closing",))
APOLOGY = Say(A, "对不起,刚才因为线路忙,让您久等了!请问有什么可以帮助您?", ("apology",))


SAMPLES = (
    CallSpec(
        call_id="call01_compliant_billing",
        agent=Voice("zf_xiaobei", 1.1), customer=Voice("zm_yunxi", 1.1, -21.0),
        audio_format="wav-pcm16", sample_rate=8000,
        events=(
            Ring(2),
            Say(A, "您好,宇鑫公司客服中心,工号1023,很高兴为您服务,请问有什么可以帮助您?", ("greeting",)),
            Say(C, "喂,你好,我想查一下这个月的话费。", ("trap",)),
            Say(A, "好的,请您稍等,正在查询。您这个月的话费是八十六元,其中流量费三十元。"),
            Say(C, "流量费是怎么算的?我不清楚。", ("trap",)),
            Say(A, "超出套餐的流量按每兆三分钱计算,详细账单已经发到您的手机上了。"),
            Say(A, "如果您还有不清楚的地方请随时来电。", ("trap",)),
            Say(C, "好的,明白了。"),
            ASK_MORE, NOTHING_ELSE, THANKS_BYE,
        ),
        expected=expected_outcomes(),
        notes="Compliant call. Innocent trigger words: the customer says 喂 and 我不清楚; "
              "the agent says 如果您还有不清楚的地方请随时来电. 请您稍等 without a pause is no hold.",
        metadata={"agent_id": "A1023", "team": "账务组", "started_at": "2024-05-06T09:12:03"},
    ),
    CallSpec(
        call_id="call02_late_apology_hold",
        agent=Voice("zf_xiaoyi", 1.1), customer=Voice("zm_yunjian", 1.1, -22.0),
        audio_format="flac", sample_rate=16000,
        events=(
            Ring(5, both_channels=True),
            Say(A, "您好,宇鑫公司客服中心,工号2046。", ("greeting",)),
            APOLOGY,
            Say(C, "我的宽带从昨天开始就上不了网了。"),
            Say(A, "对不起,给您添麻烦了。请您稍等,我帮您查询一下线路状态。", ("hold_request",)),
            Hold(10.0, music=True),
            Say(A, "感谢您的耐心等待。您所在的小区线路正在检修,预计今天下午六点前恢复。", ("hold_thanks",)),
            Say(C, "好的,那我再等一等。"),
            ASK_MORE, Say(C, "没有了。"), THANKS_BYE,
        ),
        expected=expected_outcomes(answer__rings="fail", answer__late_apology="pass", hold__procedure="pass"),
        notes="Answered after 5 rings (ringback on both channels); the agent's opening turn "
              "apologizes with the standard line. Hold with music, asked before and thanked after.",
        metadata={"agent_id": "A2046", "team": "宽带组", "started_at": "2024-05-06T10:40:51"},
    ),
    CallSpec(
        call_id="call03_late_taboo_phrases",
        agent=Voice("zm_yunjian", 1.1), customer=Voice("zf_xiaobei", 1.1, -19.0),
        audio_format="wav-ulaw", sample_rate=8000,
        events=(
            Ring(4),
            Say(A, "您好,宇鑫公司客服中心,工号3301,请问有什么可以帮助您?", ("greeting",)),
            Say(C, "我上周寄的快递到现在还没到,能帮我查一下吗?"),
            Say(A, "快递的事情我不知道,这事不归我管。", ("forbidden",),
                forbidden=("我不知道", "这事不归我管")),
            Say(C, "那我应该找谁?我也不清楚该问哪个部门。", ("trap",)),
            Say(A, "你自己去看官网吧,上面都有。", ("forbidden",), forbidden=("你自己去看",)),
            Say(C, "你们这是什么服务态度。"),
            ASK_MORE, Say(C, "没有了。"), THANKS_BYE,
        ),
        expected=expected_outcomes(answer__rings="fail", answer__late_apology="fail", phrase__forbidden="fail"),
        notes="Answered after 4 rings without the apology. Taboo phrases from 第二篇 (二): "
              "我不知道, 这事不归我管, 你自己去看. The customer's 不清楚 is innocent.",
        metadata={"agent_id": "A3301", "team": "物流组", "started_at": "2024-05-06T11:05:17"},
    ),
    CallSpec(
        call_id="call04_no_greeting_threat",
        agent=Voice("zf_xiaobei", 1.15), customer=Voice("zm_yunxi", 1.1, -20.0),
        audio_format="mp3", sample_rate=16000,
        events=(
            Ring(1),
            Say(A, "喂,什么事?", ("forbidden",), forbidden=("喂",)),
            Say(C, "我的车上周刚保养完,现在发动机又有异响。"),
            Say(A, "那你怎么不早说?", ("forbidden",), forbidden=("你怎么不早说",)),
            Say(C, "我打了好几次电话都打不通。你们必须给我一个说法。"),
            Hold(8.0, music=False),
            Say(A, "查到了,维修要等到下个月。"),
            Say(C, "这也太慢了,我要投诉你们。"),
            Say(A, "我没办法,有本事就投诉我。", ("forbidden", "threat"),
                forbidden=("我没办法", "有本事就投诉我")),
        ),
        expected=expected_outcomes(True, greeting__opening="fail", closing__farewell="fail",
                                   phrase__forbidden="fail", hold__procedure="fail",
                                   scenario__slow="fail", scenario__complaint="fail"),
        notes="No greeting (opens with 喂,什么事), a silent 8 s hold with no request and no thanks, "
              "taboo phrases 喂, 你怎么不早说, 我没办法, 有本事就投诉我 (critical), no closing. "
              "The customer's 太慢了 and 我要投诉你们 are answered with 我没办法,有本事就投诉我.",
        metadata={"agent_id": "A0777", "team": "售后组", "started_at": "2024-05-06T13:22:40"},
    ),
    CallSpec(
        call_id="call05_silent_line_handled",
        agent=Voice("zf_xiaoyi", 1.1), customer=Voice("zm_yunxi", 1.1),
        audio_format="ogg", sample_rate=8000,
        events=(
            Ring(2),
            Say(A, "您好,富茂汽车客服部,工号5012,请问有什么可以帮到您?", ("greeting",)),
            Say(A, "您好,请问有什么可以帮助您?", ("greeting",), gap=5.0),
            Say(A, "对不起,您的电话没有声音,请您换一部电话再次打来,好吗?再见!",
                ("silent_closing",), gap=5.0),
            Pause(5.0),
        ),
        expected=expected_outcomes(closing__farewell="na", silent_line__procedure="pass"),
        notes="Silent line handled by 第三篇 4: greet, 5 s pause, greet again, 5 s pause, "
              "the no-sound closing line, 5 s pause, hang up. The customer channel carries "
              "only line noise. closing.farewell is na: the silent-line procedure replaces it.",
        metadata={"agent_id": "A5012", "team": "售后组", "started_at": "2024-05-06T14:01:09"},
    ),
    CallSpec(
        call_id="call06_silent_line_rude",
        agent=Voice("zm_yunjian", 1.15), customer=Voice("zm_yunxi", 1.1),
        audio_format="wav-ulaw", sample_rate=8000,
        events=(
            Ring(3),
            Say(A, "您好,宇鑫公司客服中心,工号3301,请问有什么可以帮助您?", ("greeting",)),
            Say(A, "喂?喂,说话呀!再不说话我就挂了!", ("forbidden", "threat"), gap=3.0,
                forbidden=("喂", "喂,说话呀", "再不说话我就挂了")),
            Pause(1.0),
        ),
        expected=expected_outcomes(closing__farewell="na", phrase__forbidden="fail",
                         silent_line__procedure="fail"),
        notes="Silent line handled wrong: one greeting, then 喂,说话呀!再不说话我就挂了 "
              "(第三篇 4 不可以说) and an abrupt hang-up.",
        metadata={"agent_id": "A3301", "team": "物流组", "started_at": "2024-05-06T15:30:00"},
    ),
    CallSpec(
        call_id="call07_interruption_holiday",
        agent=Voice("zf_xiaobei", 1.1), customer=Voice("zm_yunjian", 1.1, -21.0),
        audio_format="flac", sample_rate=8000,
        events=(
            Ring(2),
            Say(A, "节日好!宇鑫客服中心,1023号为您服务,请问您需要什么帮助?", ("greeting",)),
            Say(C, "我昨天在网上订了一台冰箱,页面上写的是今天送货,可是到现在都没有人联系我,"
                   "我想问一下到底什么时候能送到。"),
            Say(A, "您的订单号是多少?我帮您查一下。", ("interruption",), overlap=2.5),
            Say(C, "订单号我已经发到你们的短信里了。"),
            Say(A, "好的,查到了,冰箱今天晚上八点前送到。"),
            Say(C, "好的,谢谢。"),
            ASK_MORE, Say(C, "没有了。"),
            Say(A, "再次祝您节日快乐!感谢您的来电,再见!", ("closing",)),
        ),
        expected=expected_outcomes(talk__interruption="fail"),
        notes="Holiday greeting 节日好 (第二篇 (四)1). The agent starts asking for the order "
              "number 2.5 s before the customer has finished.",
        metadata={"agent_id": "A1023", "team": "账务组", "started_at": "2024-10-01T09:45:12"},
    ),
    CallSpec(
        call_id="call08_fast_agent_na_ringback",
        agent=Voice("zf_xiaobei", 1.9), customer=Voice("zm_yunxi", 1.1, -20.0),
        audio_format="wav-pcm16", sample_rate=8000,
        events=(
            Ring(2, style="na", both_channels=True),
            Say(A, "新年好!富茂汽车客服部,工号2087,很高兴为您服务,请问有什么可以帮到您?",
                ("greeting", "fast")),
            Say(C, "你好,我想预约下周六的保养。"),
            Say(A, "好的,下周六上午九点到十一点和下午两点到四点都有空位,请问您选哪个时间段,"
                   "同时请提供您的车牌号码和联系电话。", ("fast",)),
            Say(C, "你说得太快了,我没听清,上午就行。"),
            Say(A, "好的,已经为您预约下周六上午九点,请您带好行驶证和保养手册,提前十分钟到店登记。",
                ("fast",)),
            Say(C, "好的。"),
            Say(A, "请问还有什么可以帮助您?", ("closing", "fast")),
            NOTHING_ELSE,
            Say(A, "感谢您的来电,再见!", ("closing", "fast")),
        ),
        expected=expected_outcomes(talk__speech_rate="fail"),
        notes="The agent speaks far too fast throughout (synthesis speed 1.9, against 1.1 in "
              "the other calls; 002 语速缓慢柔和). North American ringback 440+480 Hz, 2 rings.",
        metadata={"agent_id": "A2087", "team": "售后组", "started_at": "2024-02-10T16:03:33"},
    ),
    CallSpec(
        call_id="call09_mono_cdr_ring_seconds",
        agent=Voice("zm_yunjian", 1.1), customer=Voice("zf_xiaoyi", 1.1, -21.0),
        audio_format="mp3", sample_rate=8000, mono=True,
        events=(
            Say(A, "您好,宇鑫公司客服中心,工号4410。", ("greeting",)),
            APOLOGY,
            Say(C, "我想改一下我的套餐。"),
            Say(A, "请您稍等,我帮您查询可以办理的套餐。", ("hold_request",)),
            Hold(8.0, music=True),
            Say(A, "感谢您的耐心等待。您可以办理五十八元的套餐,下个月开始生效。", ("hold_thanks",)),
            Say(C, "那就办这个吧。"),
            Say(A, "好的,已经为您办理成功。请问还有什么可以帮助您?", ("closing",)),
            Say(C, "没有了。"), THANKS_BYE,
        ),
        expected=expected_outcomes(answer__rings="fail", answer__late_apology="pass",
                         hold__procedure="pass", talk__interruption="na"),
        notes="Mono (both parties mixed). The recording starts at the answer, so no ringback "
              "is heard; metadata.csv gives ring_seconds=24 (5 rings), which must win: "
              "answer.rings fails and the apology is required (and given).",
        metadata={"agent_id": "A4410", "team": "套餐组", "started_at": "2024-05-07T08:55:00",
                  "ring_seconds": "24"},
    ),
    CallSpec(
        call_id="call10_customer_says_wei",
        agent=Voice("zf_xiaobei", 1.1), customer=Voice("zm_yunxi", 1.1, -22.0),
        audio_format="ogg", sample_rate=16000,
        events=(
            Ring(1),
            Say(A, "周末好!宇鑫客服中心,1023号为您服务,请问您需要什么帮助?", ("greeting",)),
            Say(C, "喂?喂,说话呀?", ("trap",), gap=2.0),
            Say(A, "您好,我能听到您的声音,请讲。"),
            Say(C, "刚才信号不好。我想问一下积分怎么兑换,我不清楚规则。", ("trap",)),
            Say(A, "积分可以在手机营业厅里兑换话费或者流量,一百积分可以兑换一元话费。"),
            Say(A, "如果您还有不清楚的地方请随时来电。", ("trap",)),
            Say(C, "好的,谢谢你。"),
            ASK_MORE, Say(C, "没有了。"), THANKS_BYE,
        ),
        expected=expected_outcomes(),
        notes="Compliant weekend call (周末好). The customer, not the agent, says 喂,说话呀 "
              "and 我不清楚: innocent in that role.",
        metadata={"agent_id": "A1023", "team": "账务组", "started_at": "2024-05-11T10:20:45"},
    ),
    CallSpec(
        call_id="call11_mono_quiet_no_closing",
        agent=Voice("zf_xiaobei", 1.1, -30.0), customer=Voice("zm_yunjian", 1.1, -31.0),
        audio_format="wav-pcm16", sample_rate=16000, mono=True,
        events=(
            Ring(3),
            Say(A, "您好,宇鑫物业客服中心,工号6015,很高兴为您服务,请问有什么可以帮助您?",
                ("greeting",)),
            Say(C, "我家厨房的水管漏水了,能派人来修一下吗?"),
            Say(A, "请您稍等,我看一下维修师傅的安排。", ("hold_request",)),
            Hold(9.0, music=False),
            Say(A, "明天上午十点师傅上门维修。"),
            Say(C, "好的,那就明天上午。"),
            Say(A, "好的,已经登记了。"),
        ),
        expected=expected_outcomes(closing__farewell="fail", hold__procedure="fail",
                         talk__interruption="na"),
        notes="Quiet mono recording (speech about -30 dBFS). A 9 s silent hold asked for but "
              "not thanked; the call ends without 请问还有什么可以帮助您 or 感谢您的来电. "
              "Its metadata row has an unparseable started_at on purpose.",
        metadata={"agent_id": "A6015", "team": "物业组", "started_at": "2024-02-30 25:61"},
    ),
    CallSpec(
        call_id="call12_situations_handled",
        agent=Voice("zf_xiaoyi", 1.1), customer=Voice("zm_yunxi", 1.1, -21.0),
        audio_format="wav-pcm16", sample_rate=8000,
        events=(
            Ring(2),
            Say(A, "您好,富茂汽车客服部,工号3108,请问有什么可以帮到您?", ("greeting",)),
            Say(C, "你好,我姓陈,上个月在你们店里保养的车,现在空调不制冷了。"),
            Say(A, "陈先生,您好,我帮您查一下保养记录。"),
            Say(C, "不好意思,我刚才说错了,是上上个月保养的。"),
            Say(A, "没关系,请不必介意。我查到了三月十二号的保养记录。"),
            Say(C, "你们怎么这么慢啊,我都等了半天了。"),
            Say(A, "对不起,让您久等了,我将尽快帮您处理。您的车还在保修期内,可以免费检查空调。"),
            Say(C, "我有个建议,你们保养完应该把空调也检查一下。"),
            Say(A, "谢谢您,您提出的宝贵建议,我们将及时反馈给公司相关负责人员。"),
            Say(C, "好的,太感谢了。"),
            Say(A, "不客气,这是我们应该做的。"),
            ASK_MORE, Say(C, "没有了。"), THANKS_BYE,
        ),
        expected=expected_outcomes(True, scenario__surname="pass", scenario__apology_accepted="pass",
                         scenario__slow="pass", scenario__suggestion="pass", scenario__thanks="pass",
                         closing__hangup_order="pass"),
        notes="Situations handled (第三篇 3, 17, 25, 27, 31): the customer gives a surname and the "
              "agent uses it, apologizes (没关系,请不必介意), blames the agent for being slow, makes a "
              "suggestion, thanks. The CDR says the customer hung up first.",
        metadata={"agent_id": "A3108", "team": "售后组", "started_at": "2024-05-13T14:05:10",
                  "hangup_by": "customer"},
    ),
    CallSpec(
        call_id="call13_situations_mishandled",
        agent=Voice("zf_xiaobei", 1.1), customer=Voice("zm_yunjian", 1.1, -22.0),
        audio_format="ogg", sample_rate=16000, tail_s=0.05,
        events=(
            Ring(1),
            Say(A, "您好,星辰游戏客服中心,工号5120,请问有什么可以帮您?", ("greeting",)),
            Say(C, "你好,我的游戏账号登不上去了。"),
            Say(A, "喂,大声一点儿!", ("forbidden",), ("喂,大声一点儿",)),
            Say(C, "我说我的游戏账号登不上去了!"),
            Say(A, "您的账号被冻结了,要在官网验证手机号码才能解冻。"),
            Say(C, "那你直接帮我解冻吧,我不想去官网。"),
            Say(A, "不可能的吧。", ("forbidden",), ("不可能的吧",)),
            Say(C, "你叫什么名字?我要投诉你。"),
            Say(A, "我们还是先说您的问题吧,官网验证很快的。"),
            Say(A, "明白了吗?"),
            Say(C, "知道了。"),
            ASK_MORE, Say(C, "没有了。"), THANKS_BYE,
            Say(C, "哎,等一下,我还有一个问题想问一下你们的充值"),
        ),
        expected=expected_outcomes(True, phrase__forbidden="fail", scenario__speak_up="fail",
                         scenario__cannot_help="fail", scenario__agent_id="fail", scenario__complaint="fail",
                         scenario__explained="fail", closing__hangup_order="fail"),
        notes="Situations mishandled (第三篇 5, 18, 24, 30, 33): 喂,大声一点儿 and 不可能的吧 (also 服务忌语), "
              "no answer to 你叫什么名字 / 我要投诉你, 明白了吗 for 请问我刚才的解释您是否明白. The "
              "recording ends while the customer is still speaking: cut off.",
        metadata={"agent_id": "A5120", "team": "玩家组", "started_at": "2024-05-13T15:30:44"},
    ),
)
