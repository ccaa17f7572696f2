"""Texts the demo's models pretrain on: the listeners' languages, never the listeners' story.

A small grammar per language (:data:`GRAMMARS`) writes everyday sentences (a subject, a verb
in the past, an object, a place or a time, sometimes two clauses) from word lists that have
nothing to do with the story's lighthouse and fox. Sentences are drawn from a seeded generator,
each at most once, and any that happened to be a sentence of the story is skipped, so the
models never pretrain on what the listeners hear. Mandarin is written as in the story: simplified
characters with a space between words.
"""
from __future__ import annotations

import numpy as np

from analysis.demo import story

# Each grammar: templates over slots (S, V, O, P, T; S2, V2, O2 draw a second clause), the
# words of each slot, and how a sentence ends.
GRAMMARS: dict[str, dict] = {
    "en": {
        "templates": ("{S} {V} {O} {P}.", "{T}, {S} {V} {O}.", "{S} {V} {O} {T}.",
                      "{T}, {S} {V} {O} {P}.", "{S} {V} {O}, and {S2} {V2} {O2}.",
                      "{S} {V} {O} {P}, but {S2} {V2} {O2} {T}."),
        "S": ("the old fisherman", "a young girl", "my neighbour", "the baker", "her brother",
              "a tired farmer", "the teacher", "our cat", "the doctor", "his grandmother",
              "a tall soldier", "the children", "my cousin", "the painter", "a quiet student",
              "the mayor", "your uncle", "the driver", "a busy nurse", "the twins"),
        "V": ("painted", "carried", "found", "opened", "sold", "cleaned", "watched",
              "borrowed", "repaired", "forgot", "bought", "washed", "counted", "lost",
              "cooked", "measured", "dropped", "hid", "wrapped", "signed"),
        "O": ("a blue boat", "the heavy basket", "an old map", "the kitchen window",
              "three apples", "a wooden chair", "the broken clock", "some fresh bread",
              "a yellow umbrella", "the garden gate", "two silver spoons", "a long letter",
              "the red bicycle", "a box of nails", "the new carpet", "a warm blanket",
              "the small radio", "a bag of rice", "the green bottle", "a pair of boots"),
        "P": ("near the market", "in the garden", "behind the station", "on the bridge",
              "at the top of the hill", "in the village square", "under the stairs",
              "beside the river", "in the school yard", "at the bakery", "in the attic",
              "on the train", "outside the post office", "in the city park"),
        "T": ("yesterday", "on Sunday", "before dinner", "after the rain", "every winter",
              "at noon", "last summer", "early this morning", "on a cold Tuesday",
              "the day before the wedding", "late at night", "during the holidays"),
    },
    "fr": {
        "templates": ("{S} {V} {O} {P}.", "{T}, {S} {V} {O}.", "{S} {V} {O} {T}.",
                      "{T}, {S} {V} {O} {P}.", "{S} {V} {O}, et {S2} {V2} {O2}.",
                      "{S} {V} {O} {P}, mais {S2} {V2} {O2} {T}."),
        "S": ("le vieux pêcheur", "une jeune fille", "mon voisin", "la boulangère",
              "son frère", "un paysan fatigué", "la maîtresse", "notre chat", "le médecin",
              "sa grand-mère", "un grand soldat", "le facteur", "ma cousine", "le peintre",
              "une étudiante discrète", "le maire", "ton oncle", "le chauffeur",
              "une infirmière pressée", "le cordonnier"),
        "V": ("a peint", "a porté", "a trouvé", "a ouvert", "a vendu", "a nettoyé",
              "a regardé", "a emprunté", "a réparé", "a oublié", "a acheté", "a lavé",
              "a compté", "a perdu", "a préparé", "a mesuré", "a laissé tomber", "a caché",
              "a emballé", "a signé"),
        "O": ("un bateau bleu", "le panier lourd", "une vieille carte",
              "la fenêtre de la cuisine", "trois pommes", "une chaise en bois",
              "l'horloge cassée", "du pain frais", "un parapluie jaune",
              "le portail du jardin", "deux cuillères en argent", "une longue lettre",
              "le vélo rouge", "une boîte de clous", "le tapis neuf", "une couverture chaude",
              "la petite radio", "un sac de riz", "la bouteille verte", "une paire de bottes"),
        "P": ("près du marché", "dans le jardin", "derrière la gare", "sur le pont",
              "en haut de la colline", "sur la place du village", "sous l'escalier",
              "au bord de la rivière", "dans la cour de l'école", "à la boulangerie",
              "dans le grenier", "dans le train", "devant la poste", "dans le parc de la ville"),
        "T": ("hier", "dimanche", "avant le dîner", "après la pluie", "chaque hiver",
              "à midi", "l'été dernier", "tôt ce matin", "un mardi froid",
              "la veille du mariage", "tard dans la nuit", "pendant les vacances"),
    },
    "cn": {
        "templates": ("{S} {T} {P} {V} {O}。", "{T}， {S} {P} {V} {O}。", "{S} {P} {V} {O}。",
                      "{T}， {S} {V} {O}。", "{S} {V} {O}， {S2} {V2} {O2}。",
                      "{S} {P} {V} {O}， 但是 {S2} {T} {V2} {O2}。"),
        "S": ("老 渔夫", "一个 小 女孩", "我 的 邻居", "面包师", "她 哥哥", "累 了 的 农民",
              "老师", "我们 的 猫", "医生", "他 奶奶", "一个 高 个子 士兵", "孩子们",
              "我 表妹", "画家", "一个 安静 的 学生", "市长", "你 叔叔", "司机",
              "一个 忙碌 的 护士", "双胞胎"),
        "V": ("画 了", "搬 了", "找到 了", "打开 了", "卖 了", "擦 了", "看 了", "借 了",
              "修好 了", "忘 了", "买 了", "洗 了", "数 了", "丢 了", "做 了", "量 了",
              "拿走 了", "藏 了", "包 了", "签 了"),
        "O": ("一 条 蓝色 的 船", "那个 很 重 的 篮子", "一 张 旧 地图", "厨房 的 窗户",
              "三 个 苹果", "一 把 木头 椅子", "那个 坏 了 的 钟", "一些 新鲜 的 面包",
              "一 把 黄色 的 雨伞", "花园 的 大门", "两 把 银 勺子", "一 封 长 信",
              "那辆 红色 的 自行车", "一 盒 钉子", "新 地毯", "一 条 暖和 的 毯子",
              "那个 小 收音机", "一 袋 大米", "绿色 的 瓶子", "一 双 靴子"),
        "P": ("在 市场 旁边", "在 花园 里", "在 车站 后面", "在 桥 上", "在 山顶 上",
              "在 村子 的 广场 上", "在 楼梯 下面", "在 河边", "在 学校 的 操场 上",
              "在 面包店 里", "在 阁楼 上", "在 火车 上", "在 邮局 门口", "在 城市 公园 里"),
        "T": ("昨天", "星期天", "晚饭 前", "下 雨 以后", "每年 冬天", "中午", "去年 夏天",
              "今天 一大早", "一个 寒冷 的 星期二", "婚礼 前 一天", "深夜", "放假 的 时候"),
    },
}


def sentences(language: str, n_sentences: int, seed: int = 0) -> list[str]:
    """``n_sentences`` distinct sentences of ``language``, none of them a story sentence.

    Parameters
    ----------
    language : a language of :data:`GRAMMARS`
    n_sentences : how many (the grammar writes some hundred thousand different ones)
    seed : seed of the draws; the same seed gives the same sentences in the same order

    Returns
    -------
    list of n_sentences str, written as the story is (Mandarin segmented by spaces)
    """
    if language not in GRAMMARS:
        raise ValueError(f"language={language!r}: training texts exist in "
                         f"{', '.join(GRAMMARS)}.")
    grammar = GRAMMARS[language]
    heard = {normalised(s, language) for section in story.sections(language) for s in section}
    rng = np.random.default_rng([seed, story.LANGUAGES.index(language)])
    found: list[str] = []
    seen: set[str] = set()
    for _ in range(50 * n_sentences + 1000):
        if len(found) == n_sentences:
            return found
        template = grammar["templates"][rng.integers(len(grammar["templates"]))]
        slots = {slot: words[rng.integers(len(words))] for slot, words in grammar.items()
                 if slot != "templates"}
        slots.update({f"{slot}2": grammar[slot][rng.integers(len(grammar[slot]))]
                      for slot in ("S", "V", "O")})
        sentence = template.format(**slots)
        sentence = sentence[0].upper() + sentence[1:]
        key = normalised(sentence, language)
        if key not in seen and key not in heard:
            seen.add(key)
            found.append(sentence)
    raise ValueError(f"the {language} grammar wrote only {len(found)} distinct sentences; "
                     f"ask for fewer than {n_sentences}.")


def normalised(sentence: str, language: str) -> str:
    """A sentence's words, lower-case, joined by single spaces (punctuation removed)."""
    return " ".join(w.lower() for w in story.words_of(sentence, language))


def sections(language: str, n_sentences: int, per_section: int, seed: int = 0
             ) -> list[list[str]]:
    """:func:`sentences` cut into sections of ``per_section`` sentences (the last shorter)."""
    found = sentences(language, n_sentences, seed)
    return [found[i:i + per_section] for i in range(0, len(found), per_section)]

