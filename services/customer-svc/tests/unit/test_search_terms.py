"""The search-term builder: character pairs, pinyin, initials, and what a query needs."""

from __future__ import annotations

from customer_svc.customers.search_terms import (
    query_terms,
    readings,
    search_terms,
    split_syllables,
)


def test_a_shop_gets_its_characters_pairs_pinyin_and_initials() -> None:
    terms = set(search_terms("幸福超市", "文三路12号", "张三"))
    assert {"n:超", "n:超市", "n:福超", "a:文三", "a:2号", "a:12"} <= terms  # chars and pairs
    assert {"^幸", "^幸福"} <= terms  # how the name begins
    assert {"p:chao", "p:shi", "p:chao shi", "p:xing fu"} <= terms  # pinyin of the name
    assert {"i:cs", "i:xf"} <= terms  # initials of the name
    assert {"op:zhang san", "oi:zs", "o:张三"} <= terms  # the owner's, tagged apart
    assert not any(term.startswith("p:") and "wen" in term for term in terms)  # no address pinyin


def test_terms_are_lower_case_sorted_and_without_duplicates() -> None:
    terms = search_terms("Lucky 超市", None, None)
    assert terms == sorted(set(terms))
    assert {"n:lu", "n:ck", "n:y ", "n: 超", "^l", "^lu"} <= set(terms)
    assert "n:Lu" not in terms


def test_missing_owner_and_address_give_no_terms_of_theirs() -> None:
    assert not any(term.startswith(("op:", "oi:")) for term in search_terms("超市", None, None))
    assert search_terms("超市", "", "") == search_terms("超市", None, None)


def test_polyphones_are_indexed_under_each_reading() -> None:
    assert readings("重") == ("zhong", "chong")
    terms = set(search_terms("重庆小卖部", None, None))
    assert {"p:chong qing", "p:zhong qing", "i:cq", "i:zq"} <= terms


def test_readings_drop_tones_and_write_u_umlaut_as_v() -> None:
    assert readings("绿")[0] == "lv"
    assert readings("嗯") == ()  # interjection readings without a vowel are left out
    assert readings("A") == ()


def test_spaces_do_not_break_a_run_of_chinese_but_other_characters_do() -> None:
    assert "p:fu chao" in search_terms("幸福 超市", None, None)
    assert "p:fu chao" not in search_terms("幸福1超市", None, None)


def test_a_query_of_letters_splits_into_the_fewest_syllables() -> None:
    assert split_syllables("chaoshi") == [["chao", "shi"]]
    assert split_syllables("xian") == [["xian"]]
    assert sorted(split_syllables("fangan")) == [["fan", "gan"], ["fang", "an"]]
    assert split_syllables("cs") == []


def test_a_chinese_query_needs_its_pairs_and_nothing_else() -> None:
    terms = query_terms("便利超市")
    assert terms.text == sorted({"便利", "利超", "超市"})
    assert terms.in_field("a:") == ["a:便利", "a:利超", "a:超市"]
    assert terms.name_start() == ["^便利", "n:便利", "n:利超", "n:超市"]
    assert terms.name_pinyin == [] and terms.name_initials == []


def test_a_one_character_query_needs_that_character() -> None:
    assert query_terms("%").text == ["%"]
    assert query_terms("超").text == ["超"]
    assert query_terms("超").name_start() == ["^超", "n:超"]


def test_a_pinyin_query_ignores_case_and_spaces() -> None:
    for typed in ("chaoshi", "ChaoShi", " chao shi "):
        assert query_terms(typed).name_pinyin == [["p:chao shi"]]
    assert query_terms("CS").name_initials == ["i:cs"]
    assert query_terms("CS").text == ["cs"]  # still a literal fragment too


def test_owner_alternatives_are_tagged_for_the_owner_name() -> None:
    terms = query_terms("zhangsan")
    assert terms.owner_pinyin() == [["op:zhang san"]]
    assert terms.owner_initials() == []  # eight letters are not initials
    assert query_terms("zs").owner_initials() == ["oi:zs"]


def test_a_query_that_is_not_only_letters_has_no_pinyin() -> None:
    assert query_terms("chao1").name_pinyin == [] and query_terms("chao1").name_initials == []
    assert query_terms("c").name_initials == []  # one letter is too broad for initials
