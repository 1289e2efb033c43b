"""Kuelik's domain rules: pure, free of Flask, SQL and clocks (`now` always comes in).

Glossary (en / ru / kk):
    absentee certificate   открепительное удостоверение   есептен шығару куәлігі
    application            заявление                      өтініш
    power of attorney      доверенность                   сенімхат
    representative         представитель                  өкіл
    identity document      документ, удостоверяющий личность  жеке басын куәландыратын құжат
    precinct commission    участковая комиссия            учаскелік комиссия
    territorial commission территориальная комиссия       аумақтық комиссия
    voter list             список избирателей             сайлаушылар тізімі
    locality               населённый пункт               елді мекен
    place of stay          место пребывания               болатын жер
    voting day             день голосования               дауыс беру күні
    duplicate              дубликат                       телнұсқа
    register of issued certificates  реестр выданных открепительных удостоверений
                                     берілген куәліктер тізілімі
    IIN                    ИИН                            ЖСН
"""
