"""What sanad says when it does not answer, in the question's language (issue 8): the
languages of `analysis.REPLY_LANGUAGES`, found by `analysis.reply_language`. Answers quote
the Arabic articles verbatim in any language; only these sentences are translated."""

from __future__ import annotations

# Nothing retrieved answers (the offline answerer's refusal).
NO_ANSWER = {
    "ar": "لا تتضمن المقالات المتاحة إجابة عن هذا السؤال.",
    "en": "The available articles do not answer this question.",
    "fr": "Les articles disponibles ne répondent pas à cette question.",
    "es": "Los artículos disponibles no responden a esta pregunta.",
    "de": "Die verfügbaren Artikel beantworten diese Frage nicht.",
    "it": "Gli articoli disponibili non rispondono a questa domanda.",
    "pt": "Os artigos disponíveis não respondem a esta pergunta.",
    "tr": "Mevcut makaleler bu soruyu yanıtlamıyor.",
    "ru": "Доступные статьи не отвечают на этот вопрос.",
    "uk": "Доступні статті не відповідають на це питання.",
    "fa": "مقاله‌های موجود به این پرسش پاسخ نمی‌دهند.",
    "ur": "دستیاب مضامین میں اس سوال کا جواب نہیں ہے۔",
    "he": "המאמרים הזמינים אינם עונים על שאלה זו.",
    "zh": "现有文章没有回答这个问题。",
}

# The index holds no passage about the question (no request is sent to the model).
NO_PASSAGES = {
    "ar": "لا تتضمن المقالات المفهرسة مقاطع تتعلق بهذا السؤال.",
    "en": "The indexed articles contain no passages about this question.",
    "fr": "Les articles indexés ne contiennent aucun passage sur cette question.",
    "es": "Los artículos indexados no contienen ningún pasaje sobre esta pregunta.",
    "de": "Die indexierten Artikel enthalten keine Passagen zu dieser Frage.",
    "it": "Gli articoli indicizzati non contengono passaggi su questa domanda.",
    "pt": "Os artigos indexados não contêm passagens sobre esta pergunta.",
    "tr": "Dizinlenen makalelerde bu soruyla ilgili bir bölüm yok.",
    "ru": "В проиндексированных статьях нет фрагментов по этому вопросу.",
    "uk": "У проіндексованих статтях немає фрагментів щодо цього питання.",
    "fa": "مقاله‌های نمایه‌شده هیچ بخشی دربارهٔ این پرسش ندارند.",
    "ur": "انڈیکس کیے گئے مضامین میں اس سوال کے بارے میں کوئی حصہ نہیں ہے۔",
    "he": "במאמרים שבאינדקס אין קטעים על שאלה זו.",
    "zh": "已索引的文章中没有与这个问题相关的段落。",
}

# The model refused, or nothing of its answer was left once its citations were checked.
EMPTY_ANSWER = {**NO_ANSWER, "ar": "لا تذكر المقالات المتاحة إجابة عن هذا السؤال."}
