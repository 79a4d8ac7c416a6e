"""CGM(Hall et al. 2018)。

記録の読み込み(data)、予測の課題(tasks)、図(plots)。
"""
