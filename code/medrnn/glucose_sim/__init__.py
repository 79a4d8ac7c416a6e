"""血糖シミュレータ(UVA/Padova)。

モデル(model)、課題(tasks)、図(plots)。
"""
