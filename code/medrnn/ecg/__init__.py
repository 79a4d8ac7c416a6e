"""心電図(MIT-BIH 記録 208)。

記録の読み込みと拍の検出(record)、課題(tasks)、図(plots)。
"""
