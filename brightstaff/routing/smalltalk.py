"""What the default model is for, as example asks: the embedded router's built-in "none of the routes".

A Plano config describes its routes, never its default model, so the router carries its own picture of
the asks no route should take: greetings, thanks and goodbyes, chit-chat, questions about the assistant,
everyday trivia, in several languages. An ask closer to these than to every route goes to the default
model. Written for brightstaff, not drawn from any evaluation case. A prototype close to one of a
config's routes (a config with its own chit-chat route) is dropped for that config by the router.
"""

from __future__ import annotations

PROTOTYPES: tuple[str, ...] = (
    "Hi there!",
    "Hello, how are you today?",
    "Good morning!",
    "Thanks, that's all I needed.",
    "Thank you so much, bye!",
    "Great, that works now.",
    "ok cool",
    "Nice to meet you.",
    "Tell me a joke.",
    "What's the weather like today?",
    "What time is it?",
    "Who are you?",
    "What can you do?",
    "Can you recommend a good movie for tonight?",
    "What's the capital of Canada?",
    "Who wrote Pride and Prejudice?",
    "How tall is Mount Everest?",
    "Let's just chat for a bit.",
    "I'm bored, talk to me.",
    "Hola, ¿qué tal?",
    "Danke, das war's.",
    "Merci beaucoup !",
    "你好，今天怎么样？",
    "ありがとうございます。",
    "Ciao, come stai?",
    "Obrigado pela ajuda!",
)
